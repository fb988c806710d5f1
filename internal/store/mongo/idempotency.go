package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/apperr"
	"certd/internal/certificate"
)

// Idempotency keys without a partial unique index. FerretDB v1 rejects
// partialFilterExpression ("not implemented") and ignores sparse, and a
// plain unique index on {issuerCode, idempotencyKey} would, on MongoDB,
// let only one keyless licence per issuer exist. So an issuer's key is
// reserved in idempotency_keys, _id issuer+"\x00"+key, naming the licence
// id it is for, BEFORE the licence is inserted:
//
//   - The licence document is the truth: a reservation counts only if the
//     licence it names exists and carries that issuer and key. So a crash
//     after the reservation and before the licence leaves a reservation
//     that names nothing, and never a licence without its reservation.
//   - Only the request holding the reservation inserts a licence with
//     that key, so no duplicate gets through: a second request with the
//     key finds the reservation (duplicate _id) and returns the licence it
//     names as InsertResult.Existing, waiting up to keyWait for a
//     reservation still being fulfilled.
//   - A reservation naming no stored licence is taken over once older
//     than keyHold, so a crash never loses the key (the licence was never
//     stored, and a retry stores it then). A retry of the very same
//     licence (same id) fulfils the reservation at once.
//   - The holder must insert the licence within keyHold/2 of reserving
//     (the insert runs with that deadline), leaving keyHold/2 for a
//     command in flight before anyone takes the reservation over.
//   - If the licence insert fails on its id, the reservation is removed,
//     so the key stays free.
//
// Taking a reservation over claims it first (claims.go), so that of
// concurrent takers exactly one removes it; the others retry and find the
// new holder's reservation.

const (
	// keyHold is how old a reservation that names no stored licence must
	// be before it is taken over.
	keyHold = claimStaleAfter
	// keyWait is how long Insert waits for another request's reservation
	// to be fulfilled before answering CONFLICT.
	keyWait = 3 * time.Second
	// keyPoll is the wait between two looks at such a reservation.
	keyPoll = 25 * time.Millisecond
)

// storeDeadline is when the holder of a reservation made at must have
// inserted its licence.
func storeDeadline(at time.Time) time.Time { return at.Add(keyHold / 2) }

// carries reports whether the stored licence d has c's issuer and key.
func carries(d *certDoc, c *certificate.Certificate) bool {
	return c.IdempotencyKey != "" && d.IssuerCode == c.IssuerCode && d.IdempotencyKey == c.IdempotencyKey
}

// reserveKeys reserves the keys of cs[i] for i in keyed, in one unordered
// insert. It returns, for the ones whose key was taken, the id of the
// licence the reservation names ("" if it vanished meanwhile).
func (s *Store) reserveKeys(ctx context.Context, cs []certificate.Certificate, keyed []int, at time.Time) (map[int]string, error) {
	docs := make([]any, len(keyed))
	for j, i := range keyed {
		c := &cs[i]
		docs[j] = idemKeyDoc{ID: idemKeyID(c.IssuerCode, c.IdempotencyKey), IssuerCode: c.IssuerCode,
			Key: c.IdempotencyKey, CertID: c.ID, At: at}
	}
	dups, err := insertMany(ctx, s.idemKeys, docs)
	if err != nil {
		return nil, wrap("reserve idempotency keys", err)
	}
	if len(dups) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(dups))
	for j := range dups {
		ids = append(ids, docs[j].(idemKeyDoc).ID)
	}
	cur, err := s.idemKeys.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, wrap("read idempotency keys", err)
	}
	var found []idemKeyDoc
	if err := cur.All(ctx, &found); err != nil {
		return nil, wrap("read idempotency keys", err)
	}
	named := make(map[string]string, len(found))
	for _, kd := range found {
		named[kd.ID] = kd.CertID
	}
	taken := make(map[int]string, len(dups))
	for j := range dups {
		taken[keyed[j]] = named[docs[j].(idemKeyDoc).ID]
	}
	return taken, nil
}

// resolveKey settles cs[i], whose key was reserved by someone else or by
// an earlier attempt, one look at a time: it stores cs[i] under a free or
// own reservation, sets res[i].Existing to the licence the key names, or
// takes a stale reservation over and looks again. It answers CONFLICT if
// still unsettled at giveUp, which the caller shares among the items of a
// batch so that a batch waits keyWait at most.
func (s *Store) resolveKey(ctx context.Context, cs []certificate.Certificate, docs []certDoc, i int, res []certificate.InsertResult, giveUp time.Time) error {
	c := &cs[i]
	id := idemKeyID(c.IssuerCode, c.IdempotencyKey)
	wait := false // whether to wait before the next look
	for {
		if wait {
			if time.Now().After(giveUp) {
				return apperr.Conflictf("another request is storing a licence with idempotency key %q of issuer %s; try again", c.IdempotencyKey, c.IssuerCode)
			}
			if err := sleep(ctx, keyPoll); err != nil {
				return wrap("insert licence", err)
			}
		}
		wait = true
		var kd idemKeyDoc
		err := s.idemKeys.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&kd)
		if errors.Is(err, mongo.ErrNoDocuments) {
			at := time.Now().UTC().Truncate(time.Millisecond)
			_, err := s.idemKeys.InsertOne(ctx, idemKeyDoc{ID: id, IssuerCode: c.IssuerCode, Key: c.IdempotencyKey, CertID: c.ID, At: at})
			if err == nil {
				return s.storeCerts(ctx, cs, docs, []int{i}, at, res)
			}
			if !mongo.IsDuplicateKeyError(err) {
				return wrap("reserve idempotency key", err)
			}
			continue
		}
		if err != nil {
			return wrap("read idempotency key", err)
		}
		if d, ok, err := s.certByID(ctx, kd.CertID); err != nil {
			return err
		} else if ok && carries(&d, c) {
			got := d.certificate()
			res[i].Existing = &got
			return nil
		}
		age := time.Since(kd.At)
		switch {
		case kd.CertID == c.ID && time.Until(storeDeadline(kd.At)) > 5*time.Second:
			// Our own reservation (a retry of this licence): fulfil it.
			return s.storeCerts(ctx, cs, docs, []int{i}, kd.At, res)
		case age >= keyHold:
			err := s.dropReservation(ctx, &kd, c)
			if err == nil {
				wait = false // the key is free now: look again at once
				continue
			}
			if !errors.Is(err, errClaimed) {
				return err
			}
		}
	}
}

// dropReservation removes the reservation kd, which names no licence
// carrying its key and is older than keyHold, so its key can be reserved
// anew. It returns errClaimed if another request is removing it.
func (s *Store) dropReservation(ctx context.Context, kd *idemKeyDoc, c *certificate.Certificate) error {
	release, err := s.claim(ctx, idemKeysColl, kd.ID, int(kd.At.UnixMilli()))
	if err != nil {
		return err
	}
	defer release()
	// Look again under the claim: the licence may have been stored since.
	if d, ok, err := s.certByID(ctx, kd.CertID); err != nil || (ok && carries(&d, c)) {
		return err
	}
	_, err = s.idemKeys.DeleteOne(ctx, bson.D{{Key: "_id", Value: kd.ID}, {Key: "certId", Value: kd.CertID}, {Key: "at", Value: kd.At}})
	if err != nil {
		return wrap("remove stale idempotency key", err)
	}
	return nil
}

// storeCerts inserts docs[i] for i in idx, all of whose keys (if any) are
// reserved for them since reservedAt, and sets res[i].Existing for those
// found stored already with the same id and key (a retry). A licence
// whose id (or lineage and version) is taken otherwise is a CONFLICT; its
// reservation is removed again.
func (s *Store) storeCerts(ctx context.Context, cs []certificate.Certificate, docs []certDoc, idx []int, reservedAt time.Time, res []certificate.InsertResult) error {
	if len(idx) == 0 {
		return nil
	}
	batch := make([]any, len(idx))
	for j, i := range idx {
		batch[j] = &docs[i]
	}
	sctx, cancel := context.WithDeadline(ctx, storeDeadline(reservedAt))
	dups, err := insertMany(sctx, s.certs, batch)
	cancel()
	if err != nil {
		// Which were stored is unknown; the reservations stay and a retry
		// sorts it out (same id: Existing or stored; else taken over).
		return wrap("insert licences", err)
	}
	if len(dups) == 0 {
		return nil
	}
	ids := make([]string, 0, len(dups))
	for j := range dups {
		ids = append(ids, cs[idx[j]].ID)
	}
	stored, err := s.certsByID(ctx, ids)
	if err != nil {
		return err
	}
	var conflict *certificate.Certificate
	for j := range dups {
		c := &cs[idx[j]]
		if d, ok := stored[c.ID]; ok && carries(&d, c) {
			got := d.certificate()
			res[idx[j]].Existing = &got
			continue
		}
		if conflict == nil {
			conflict = c
		}
		if c.IdempotencyKey != "" {
			_, err := s.idemKeys.DeleteOne(ctx, bson.D{{Key: "_id", Value: idemKeyID(c.IssuerCode, c.IdempotencyKey)}, {Key: "certId", Value: c.ID}})
			if err != nil {
				return wrap("release idempotency key", err)
			}
		}
	}
	if conflict != nil {
		return apperr.Conflictf("licence %s (version %d of %s) exists already", conflict.ID, conflict.Version, conflict.Lineage)
	}
	return nil
}

// insertMany inserts docs unordered and returns the indexes (into docs)
// that failed on a duplicate key; any other failure is an error.
func insertMany(ctx context.Context, c *mongo.Collection, docs []any) (map[int]bool, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	_, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return nil, err
	}
	dups := make(map[int]bool, len(bwe.WriteErrors))
	for _, we := range bwe.WriteErrors {
		if !isDuplicateKeyCode(we.Code) {
			return nil, err
		}
		dups[we.Index] = true
	}
	return dups, nil
}

// isDuplicateKeyCode tells the codes mongo.IsDuplicateKeyError accepts.
func isDuplicateKeyCode(code int) bool { return code == 11000 || code == 11001 || code == 12582 }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// StoredKeys implements certificate.Repository: a key counts when a stored
// licence carries it.
func (s *Store) StoredKeys(ctx context.Context, issuer string, keys []string) (map[string]string, error) {
	found := map[string]string{}
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		cur, err := s.certs.Find(ctx,
			bson.D{{Key: "issuerCode", Value: issuer}, {Key: "idempotencyKey", Value: bson.D{{Key: "$in", Value: chunk}}}},
			options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "idempotencyKey", Value: 1}}))
		if err != nil {
			return nil, wrap("look up idempotency keys", err)
		}
		var docs []struct {
			ID  string `bson:"_id"`
			Key string `bson:"idempotencyKey"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return nil, wrap("look up idempotency keys", err)
		}
		for _, d := range docs {
			found[d.Key] = d.ID
		}
	}
	return found, nil
}

package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"certd/internal/lease"
)

// Leases live in the leases collection as generations: every change of a
// lease (acquisition, renewal, note, release) inserts the next generation
// of it, with _id "<name>/<generation>", and then removes the older ones.
// The insert is the atomic step: of two instances changing generation n
// (a holder renewing, another taking over), only one inserts n+1 and the
// other gets a duplicate key. A conditioned update would not do: FerretDB
// v1 runs an update as a find then a write by _id, so two updates
// filtered on the same owner and expiry can both succeed (see claims.go).

var _ lease.Repository = (*Store)(nil)

const leasesColl = "leases"

// leaseDoc is one generation of a lease.
type leaseDoc struct {
	ID      string    `bson:"_id"`
	Name    string    `bson:"name"`
	Gen     int64     `bson:"gen"`
	Owner   string    `bson:"owner"`
	Token   int64     `bson:"token"`
	Expires time.Time `bson:"expires"`
	Note    string    `bson:"note"`
	NotedAt time.Time `bson:"notedAt"`
}

func (d *leaseDoc) lease() lease.Lease {
	return lease.Lease{Name: d.Name, Owner: d.Owner, Token: d.Token, Expires: d.Expires.UTC(), Note: d.Note, NotedAt: d.NotedAt.UTC()}
}

// latestLease reads the newest generation of a lease; ok is false if it
// was never acquired.
func (s *Store) latestLease(ctx context.Context, name string) (d leaseDoc, ok bool, err error) {
	err = s.leases.FindOne(ctx, bson.D{{Key: "name", Value: name}},
		options.FindOne().SetSort(bson.D{{Key: "gen", Value: -1}})).Decode(&d)
	switch {
	case err == nil:
		return d, true, nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return d, false, nil
	}
	return d, false, wrap("read lease", err)
}

// errGenTaken reports that another writer inserted the generation first.
var errGenTaken = errors.New("lease generation taken")

// nextLeaseGen inserts d as the generation after prev, then removes the
// generations before it.
func (s *Store) nextLeaseGen(ctx context.Context, prev leaseDoc, d leaseDoc) error {
	d.Name, d.Gen = prev.Name, prev.Gen+1
	d.ID = fmt.Sprintf("%s/%020d", d.Name, d.Gen)
	d.Expires, d.NotedAt = d.Expires.UTC().Truncate(time.Millisecond), d.NotedAt.UTC().Truncate(time.Millisecond)
	if _, err := s.leases.InsertOne(ctx, d); mongo.IsDuplicateKeyError(err) {
		return errGenTaken
	} else if err != nil {
		return wrap("write lease", err)
	}
	// Older generations are history nobody reads; a failure here leaves
	// them for the next change.
	_, _ = s.leases.DeleteMany(ctx, bson.D{{Key: "name", Value: d.Name}, {Key: "gen", Value: bson.D{{Key: "$lt", Value: d.Gen}}}})
	return nil
}

// AcquireLease implements lease.Repository.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (lease.Lease, bool, error) {
	for attempt := 0; ; attempt++ {
		cur, ok, err := s.latestLease(ctx, name)
		if err != nil {
			return lease.Lease{}, false, err
		}
		if !ok {
			cur = leaseDoc{Name: name}
		}
		l := cur.lease()
		next := cur
		switch {
		case ok && cur.Owner == owner && cur.Owner != "":
			// The holder again: a renewal.
		case l.Held(now):
			return l, false, nil
		default:
			next.Owner, next.Token = owner, cur.Token+1
		}
		next.Expires = now.Add(ttl)
		err = s.nextLeaseGen(ctx, cur, next)
		switch {
		case err == nil:
			got := next
			got.Expires = next.Expires.UTC().Truncate(time.Millisecond)
			return got.lease(), true, nil
		case !errors.Is(err, errGenTaken):
			return lease.Lease{}, false, err
		case attempt > 0:
			// Changed twice under us: whoever changed it holds it.
			cur, _, err := s.latestLease(ctx, name)
			if err != nil {
				return lease.Lease{}, false, err
			}
			return cur.lease(), cur.Owner == owner && cur.Owner != "", nil
		}
	}
}

// changeHeldLease applies change to the newest generation of l's lease
// and stores it as the next one, if l.Owner still holds it with l.Token;
// else lease.ErrLost.
func (s *Store) changeHeldLease(ctx context.Context, l lease.Lease, change func(*leaseDoc)) (leaseDoc, error) {
	for attempt := 0; attempt < 5; attempt++ {
		cur, ok, err := s.latestLease(ctx, l.Name)
		if err != nil {
			return leaseDoc{}, err
		}
		if !ok || cur.Owner != l.Owner || cur.Token != l.Token || l.Owner == "" {
			return leaseDoc{}, lease.ErrLost
		}
		next := cur
		change(&next)
		err = s.nextLeaseGen(ctx, cur, next)
		if !errors.Is(err, errGenTaken) {
			return next, err
		}
		// Another generation came first: a takeover (the next read says
		// so) or the holder's own concurrent note or renewal.
	}
	return leaseDoc{}, fmt.Errorf("mongo store: lease %s changes too often", l.Name)
}

// RenewLease implements lease.Repository.
func (s *Store) RenewLease(ctx context.Context, l lease.Lease, now time.Time, ttl time.Duration) (lease.Lease, error) {
	d, err := s.changeHeldLease(ctx, l, func(d *leaseDoc) { d.Expires = now.Add(ttl) })
	if err != nil {
		return lease.Lease{}, err
	}
	d.Expires = d.Expires.UTC().Truncate(time.Millisecond)
	return d.lease(), nil
}

// NoteLease implements lease.Repository.
func (s *Store) NoteLease(ctx context.Context, l lease.Lease, note string, at time.Time) error {
	_, err := s.changeHeldLease(ctx, l, func(d *leaseDoc) { d.Note, d.NotedAt = note, at })
	return err
}

// ReleaseLease implements lease.Repository.
func (s *Store) ReleaseLease(ctx context.Context, l lease.Lease) error {
	_, err := s.changeHeldLease(ctx, l, func(d *leaseDoc) { d.Owner, d.Expires = "", time.Unix(0, 0) })
	if errors.Is(err, lease.ErrLost) {
		return nil
	}
	return err
}

// GetLease implements lease.Repository.
func (s *Store) GetLease(ctx context.Context, name string) (lease.Lease, error) {
	d, ok, err := s.latestLease(ctx, name)
	if err != nil || !ok {
		return lease.Lease{Name: name}, err
	}
	return d.lease(), nil
}

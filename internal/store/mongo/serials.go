package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Serials without an atomic counter. FerretDB v1's $inc is not atomic, so
// NextSerials stores every reservation as a block document of the serials
// collection whose _id is issuer/year/start, and the unique _id is what
// makes two reservations exclusive:
//
//   - The first block of a year starts at 1; every other block starts
//     right after the end of a block that exists.
//   - A block is stored by inserting it. If its start is taken, the block
//     holding that start is read by _id and the next try starts after its
//     end.
//
// By induction the blocks of an issuer's year then always form one gapless
// chain 1..e1, e1+1..e2, ...: a new block starts after the end e of an
// existing block, and if e is not the chain's last end, a block starting
// at e+1 exists and the insert fails. So no two blocks overlap and no
// serial is handed out twice, whatever the interleaving and however stale
// the reads.
//
// To avoid walking the chain from 1, the counters document
// "serials/<year>/<issuer>" remembers a recent end ($max, not atomic on
// FerretDB, so it may lag, which only costs a few steps of walking). These
// reads and writes are by _id, which FerretDB v1 looks up without
// scanning. One NextSerials normally costs three small operations
// whatever n is. Should the walk get long (the hint lost or far behind),
// it jumps to the highest end stored (index issuer_year_end), which is the
// end of an existing block too.

const (
	// serialJumpEvery is how many steps of walking the chain go before
	// jumping to the highest end.
	serialJumpEvery = 16
	// maxSerialSteps bounds the tries of one NextSerials; every failed
	// try means another reservation succeeded meanwhile.
	maxSerialSteps = 1000
)

func serialBlockID(issuer string, year int, start int64) string {
	// year and start have no "/", so the id splits unambiguously from the
	// right even if an issuer code had one.
	return fmt.Sprintf("%s/%d/%d", issuer, year, start)
}

func serialHintID(issuer string, year int) string {
	return fmt.Sprintf("serials/%d/%s", year, issuer)
}

// NextSerials implements certificate.Repository.
func (s *Store) NextSerials(ctx context.Context, issuer string, year int, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("mongo store: reserve %d serials: need at least one", n)
	}
	hintID := serialHintID(issuer, year)
	var hint counterDoc
	err := s.counters.FindOne(ctx, bson.D{{Key: "_id", Value: hintID}}).Decode(&hint)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, wrap("reserve serials", err)
	}
	start := max(hint.Seq, 0) + 1
	for step := range maxSerialSteps {
		if step > 0 && step%serialJumpEvery == 0 {
			last, err := s.lastSerialEnd(ctx, issuer, year)
			if err != nil {
				return 0, err
			}
			start = max(start, last+1)
		}
		end := start + int64(n) - 1
		block := serialBlockDoc{ID: serialBlockID(issuer, year, start), IssuerCode: issuer, Year: year,
			Start: start, End: end, At: time.Now().UTC()}
		_, err := s.serials.InsertOne(ctx, block)
		if err == nil {
			// Only a hint: a failure costs the next caller a longer walk.
			_, _ = s.counters.UpdateOne(ctx, bson.D{{Key: "_id", Value: hintID}},
				bson.D{{Key: "$max", Value: bson.D{{Key: "seq", Value: end}}}}, options.UpdateOne().SetUpsert(true))
			return start, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return 0, wrap("reserve serials", err)
		}
		var taken serialBlockDoc
		err = s.serials.FindOne(ctx, bson.D{{Key: "_id", Value: block.ID}}).Decode(&taken)
		switch {
		case err == nil:
			start = taken.End + 1
		case errors.Is(err, mongo.ErrNoDocuments):
			// Not visible yet (cannot happen with read concern local on
			// the primary); try the same start again.
		default:
			return 0, wrap("reserve serials", err)
		}
	}
	return 0, fmt.Errorf("mongo store: reserve serials of %s for %d: no free block after %d tries", issuer, year, maxSerialSteps)
}

// lastSerialEnd returns the highest end of the blocks of an issuer's year,
// or 0 if there are none.
func (s *Store) lastSerialEnd(ctx context.Context, issuer string, year int) (int64, error) {
	var last serialBlockDoc
	err := s.serials.FindOne(ctx, bson.D{{Key: "issuerCode", Value: issuer}, {Key: "year", Value: year}},
		options.FindOne().SetSort(bson.D{{Key: "end", Value: -1}})).Decode(&last)
	switch {
	case err == nil:
		return last.End, nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return 0, nil
	}
	return 0, wrap("reserve serials", err)
}

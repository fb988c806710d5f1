package audit_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"strings"
	"sync"
	"testing"

	"certd/internal/audit"
	"certd/internal/store/sqlite"
)

// closedChain writes n records one by one to a new chain (checkpoints
// every 10) and closes it, so the chain ends in a Final checkpoint.
func closedChain(t *testing.T, s *sqlite.Store, key ed25519.PrivateKey, n int) string {
	t.Helper()
	w := newWriter(t, s, key, audit.WriterOptions{CheckpointEvery: 10})
	appendN(t, w, n)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w.Chain()
}

// onlyProblem returns the one problem Verify reports.
func onlyProblem(t *testing.T, s *sqlite.Store, key ed25519.PrivateKey) audit.Problem {
	t.Helper()
	rep := verify(t, s, pub(key))
	if len(rep.Problems) != 1 {
		t.Fatalf("want one problem, got %v", rep.Problems)
	}
	t.Logf("Verify: %s", rep.Problems[0])
	return rep.Problems[0]
}

func TestVerifyTwoWritersAtOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	key := newKey(t)
	var wg sync.WaitGroup
	var chains sync.Map
	for range 2 {
		wg.Go(func() {
			w, err := audit.NewWriter(s, key, audit.WriterOptions{CheckpointEvery: 50})
			if err != nil {
				t.Error(err)
				return
			}
			var inner sync.WaitGroup
			for g := range 8 {
				inner.Go(func() {
					for i := range 40 {
						if err := w.Append(ctx, []audit.Record{sample(g*100 + i), sample(i)}); err != nil {
							t.Error(err)
						}
					}
				})
			}
			// Verify runs beside the writers: a growing chain is no problem.
			if rep, err := audit.Verify(ctx, s, pub(key)); err != nil || len(rep.Problems) > 0 {
				t.Errorf("Verify while writing: %v, %v", rep.Problems, err)
			}
			inner.Wait()
			chains.Store(w.Chain(), true)
			if err := w.Close(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rep := mustVerify(t, s, pub(key))
	if rep.Chains != 2 || rep.Records != 2*8*40*2 || rep.UnsignedTail != 0 || rep.Checkpoints < 2 {
		t.Fatalf("report %+v", rep)
	}
	// Untrusted key: every checkpoint is bad.
	rep = verify(t, s, pub(newKey(t)))
	if len(rep.Problems) != 2 || rep.Problems[0].Kind != audit.ProblemBadCheckpoint {
		t.Fatalf("with a foreign key: %v", rep.Problems)
	}
}

func TestVerifyFindsEditedRecord(t *testing.T) {
	s, dir := openStore(t)
	key := newKey(t)
	chain := closedChain(t, s, key, 30)
	other := closedChain(t, s, key, 5)
	exec(t, rawDB(t, dir), "UPDATE audit_records SET subject = 'someone-else' WHERE chain = ? AND seq = 17", chain)
	p := onlyProblem(t, s, key)
	if p.Kind != audit.ProblemEdited || p.RecordID != chain+".17" || p.Chain != chain || p.Seq != 17 {
		t.Fatalf("got %+v, want record %s.17 edited", p, chain)
	}
	_ = other // untouched, so no problem
}

// An edit that also recomputes the record's hash and the next PrevHash
// is caught by the signed checkpoint.
func TestVerifyFindsRewrittenRecord(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	key := newKey(t)
	chain := closedChain(t, s, key, 30)
	recs, _ := s.AuditChain(ctx, chain, 0, 100)
	r := recs[19] // seq 20, which a checkpoint names
	r.Reason = "rewritten"
	newHash := audit.RecordHash(&r)
	db := rawDB(t, dir)
	exec(t, db, "UPDATE audit_records SET reason = ?, hash = ? WHERE chain = ? AND seq = 20", r.Reason, newHash, chain)
	exec(t, db, "UPDATE audit_records SET prev_hash = ? WHERE chain = ? AND seq = 21", newHash, chain)
	p := onlyProblem(t, s, key)
	if p.Kind != audit.ProblemEdited || p.RecordID != chain+".20" {
		t.Fatalf("got %+v, want record %s.20 edited", p, chain)
	}
}

func TestVerifyFindsDeletedRecord(t *testing.T) {
	s, dir := openStore(t)
	key := newKey(t)
	chain := closedChain(t, s, key, 30)
	exec(t, rawDB(t, dir), "DELETE FROM audit_records WHERE chain = ? AND seq = 12", chain)
	p := onlyProblem(t, s, key)
	if p.Kind != audit.ProblemDeleted || p.Seq != 12 || p.RecordID != chain+".13" {
		t.Fatalf("got %+v, want seq 12 deleted before %s.13", p, chain)
	}
}

// forgeAfter appends to chain, bypassing the writer, a record that links
// perfectly to its last record at seq: only a Final checkpoint tells. It
// drops the triggers first (the store itself would refuse it), and
// returns the raw database.
func forgeAfter(t *testing.T, s *sqlite.Store, dir, chain string, seq int64) *sql.DB {
	t.Helper()
	ctx := context.Background()
	last, _ := s.AuditChain(ctx, chain, seq-1, 1)
	forged := sample(999)
	forged.Chain, forged.Seq, forged.PrevHash, forged.At = chain, seq+1, last[0].Hash, last[0].At
	forged.Hash = audit.RecordHash(&forged)
	db := rawDB(t, dir)
	if err := s.AppendAudit(ctx, []audit.Record{forged}, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestVerifyFindsRecordInsertedAfterFinal(t *testing.T) {
	s, dir := openStore(t)
	key := newKey(t)
	chain := closedChain(t, s, key, 30)
	forgeAfter(t, s, dir, chain, 30)
	p := onlyProblem(t, s, key)
	if p.Kind != audit.ProblemInserted || p.RecordID != chain+".31" {
		t.Fatalf("got %+v, want %s.31 inserted", p, chain)
	}
}

func TestVerifyFindsRecordInsertedInTheMiddle(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	key := newKey(t)
	chain := closedChain(t, s, key, 30)
	db := rawDB(t, dir)
	exec(t, db, "DELETE FROM audit_records WHERE chain = ? AND seq = 8", chain)
	prev, _ := s.AuditChain(ctx, chain, 6, 1)
	forged := sample(999)
	forged.Chain, forged.Seq, forged.PrevHash, forged.At = chain, 8, "0000000000000000000000000000000000000000000000000000000000000000", prev[0].At
	forged.Hash = audit.RecordHash(&forged)
	if err := s.AppendAudit(ctx, []audit.Record{forged}, nil); err != nil {
		t.Fatal(err)
	}
	p := onlyProblem(t, s, key)
	if p.Kind != audit.ProblemInserted || p.RecordID != chain+".8" {
		t.Fatalf("got %+v, want %s.8 inserted", p, chain)
	}
}

func TestVerifyFindsTruncatedChain(t *testing.T) {
	s, dir := openStore(t)
	key := newKey(t)
	chain := closedChain(t, s, key, 30)
	exec(t, rawDB(t, dir), "DELETE FROM audit_records WHERE chain = ? AND seq > 15", chain)
	p := onlyProblem(t, s, key)
	if p.Kind != audit.ProblemTruncated || p.Seq <= 15 {
		t.Fatalf("got %+v, want truncated", p)
	}
	if !strings.Contains(p.Detail, "ends at seq 15") {
		t.Fatalf("detail %q", p.Detail)
	}
}

func TestVerifyFindsForgedCheckpoint(t *testing.T) {
	s, dir := openStore(t)
	key := newKey(t)
	chain := closedChain(t, s, key, 30)
	exec(t, rawDB(t, dir), "UPDATE audit_checkpoints SET hash = 'ff' || substr(hash, 3) WHERE chain = ? AND seq = 10", chain)
	p := onlyProblem(t, s, key)
	if p.Kind != audit.ProblemBadCheckpoint || p.Seq != 10 {
		t.Fatalf("got %+v, want a bad checkpoint at 10", p)
	}
}

// A running chain's records after its last checkpoint are an unsigned
// tail, not a problem.
func TestVerifyUnsignedTail(t *testing.T) {
	s, _ := openStore(t)
	key := newKey(t)
	w := newWriter(t, s, key, audit.WriterOptions{CheckpointEvery: 10, CheckpointInterval: 1 << 40})
	appendN(t, w, 14)
	rep := mustVerify(t, s, pub(key))
	if rep.UnsignedTail != 4 || rep.Records != 14 {
		t.Fatalf("report %+v, want 4 unsigned of 14", rep)
	}
}

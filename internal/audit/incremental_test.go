package audit_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"certd/internal/audit"
)

// readCounter counts the records a verification reads.
type readCounter struct {
	audit.Repository
	read atomic.Int64
}

func (r *readCounter) AuditChain(ctx context.Context, chain string, after int64, limit int) ([]audit.Record, error) {
	recs, err := r.Repository.AuditChain(ctx, chain, after, limit)
	r.read.Add(int64(len(recs)))
	return recs, err
}

// TestVerifyFromReadsOnlyWhatIsNew: continued from its positions, a
// verification reads the records after each chain's last verified signed
// checkpoint only, and reports the same as a verification of the whole log.
func TestVerifyFromReadsOnlyWhatIsNew(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	key := newKey(t)
	closed := closedChain(t, s, key, 25) // checkpoints at 10, 20, Final at 25
	w := newWriter(t, s, key, audit.WriterOptions{CheckpointEvery: 10, CheckpointInterval: 1 << 40})
	appendN(t, w, 35)
	repo := &readCounter{Repository: s}
	rep, pos, err := audit.VerifyFrom(ctx, repo, pub(key), nil, nil)
	if err != nil || len(rep.Problems) != 0 || rep.Records != 60 {
		t.Fatalf("first verification: %+v, %v", rep, err)
	}
	if p := pos[w.Chain()]; p.Seq != 30 || p.Records != 30 {
		t.Fatalf("position of the running chain: %+v", p)
	}
	if p := pos[closed]; p.Seq != 25 || p.FinalSeq != 25 {
		t.Fatalf("position of the closed chain: %+v", p)
	}

	// Nothing new: only the running chain's unsigned tail is read again.
	repo.read.Store(0)
	rep2, pos, err := audit.VerifyFrom(ctx, repo, pub(key), pos, nil)
	if err != nil || repo.read.Load() != 5 || rep2.Records != rep.Records || rep2.Checkpoints != rep.Checkpoints || rep2.UnsignedTail != 5 {
		t.Fatalf("steady state read %d records: %+v, %v", repo.read.Load(), rep2, err)
	}

	// 12 more: read from the last checkpoint (30), and the report is the
	// whole log's.
	appendN(t, w, 12)
	repo.read.Store(0)
	rep3, pos, err := audit.VerifyFrom(ctx, repo, pub(key), pos, nil)
	if err != nil {
		t.Fatal(err)
	}
	full := mustVerify(t, s, pub(key))
	if repo.read.Load() != 17 || rep3.Records != full.Records || rep3.Checkpoints != full.Checkpoints ||
		rep3.UnsignedTail != full.UnsignedTail || rep3.Chains != full.Chains || len(rep3.Problems) != 0 {
		t.Fatalf("after 12 more, read %d:\n incremental %+v\n whole log   %+v", repo.read.Load(), rep3, full)
	}
	if p := pos[w.Chain()]; p.Seq != 40 {
		t.Fatalf("position after 12 more: %+v", p)
	}
	// Closing the chain adds its Final checkpoint at 47, which the next
	// check counts as the whole-log check does.
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rep4, _, err := audit.VerifyFrom(ctx, repo, pub(key), pos, nil)
	if full := mustVerify(t, s, pub(key)); err != nil || rep4.Checkpoints != full.Checkpoints || rep4.UnsignedTail != 0 || rep4.Records != full.Records {
		t.Fatalf("after closing:\n incremental %+v\n whole log   %+v", rep4, full)
	}
}

// TestVerifyFromFindsWhatFollowsThePosition: a record forged after a
// chain's Final checkpoint, and a record deleted after the position, are
// found by a continued verification, and stay reported, even once the
// store no longer lists the closed chain.
func TestVerifyFromFindsWhatFollowsThePosition(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	key := newKey(t)
	closed := closedChain(t, s, key, 30)
	w := newWriter(t, s, key, audit.WriterOptions{CheckpointEvery: 10, CheckpointInterval: 1 << 40})
	appendN(t, w, 12)
	_, pos, err := audit.VerifyFrom(ctx, s, pub(key), nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	db := forgeAfter(t, s, dir, closed, 30)
	appendN(t, w, 10)
	exec(t, db, "DELETE FROM audit_records WHERE chain = ? AND seq = 15", w.Chain())

	for i := range 2 {
		var repo audit.Repository = s
		if i == 1 {
			repo = forgetful{Repository: s, keep: w.Chain()}
		}
		var rep audit.Report
		rep, pos, err = audit.VerifyFrom(ctx, repo, pub(key), pos, nil)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]string{}
		for _, p := range rep.Problems {
			kinds[p.RecordID] = p.Kind
		}
		if len(rep.Problems) != 2 || kinds[closed+".31"] != audit.ProblemInserted || kinds[w.Chain()+".16"] != audit.ProblemDeleted {
			t.Fatalf("problems %v", rep.Problems)
		}
	}
}

// TestStatusContinuesAcrossRestarts: the server's status checks keep
// their positions in the data directory; after a restart the first check
// reads only what follows the last verified signed checkpoint, and still
// reports the whole log.
func TestStatusContinuesAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	mem := audit.NewMemoryRepository()
	w := newWriter(t, mem, key, audit.WriterOptions{CheckpointEvery: 10, CheckpointInterval: 1 << 40})
	appendN(t, w, 43)
	file := filepath.Join(t.TempDir(), audit.PositionsFile)

	first := audit.NewAccessLog(mem, scopeAll{})
	first.EnableStatus(pub(key), time.Minute, nil)
	first.PersistStatus(file)
	st, err := first.Status(ctx)
	if err != nil || !st.Intact() || st.Records != 43 {
		t.Fatalf("first check: %+v, %v", st, err)
	}
	first.CloseStatus()

	appendN(t, w, 9)
	repo := &readCounter{Repository: mem}
	restarted := audit.NewAccessLog(repo, scopeAll{})
	restarted.EnableStatus(pub(key), time.Minute, nil)
	restarted.PersistStatus(file)
	st, err = restarted.Status(ctx)
	if err != nil || !st.Intact() || st.Records != 52 || st.UnsignedTail != 2 {
		t.Fatalf("after the restart: %+v, %v", st, err)
	}
	if n := repo.read.Load(); n != 12 {
		t.Fatalf("after the restart the check read %d records, want the 12 after the checkpoint at 40", n)
	}
}

// forgetful lists no chain but the ones it is told to keep, as a store
// whose list of chains lost an entry (or had one removed) would.
type forgetful struct {
	audit.Repository
	keep string
}

func (f forgetful) AuditChains(ctx context.Context) ([]string, error) {
	chains, err := f.Repository.AuditChains(ctx)
	return slices.DeleteFunc(chains, func(c string) bool { return c != f.keep }), err
}

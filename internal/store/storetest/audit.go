package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"certd/internal/apperr"
	"certd/internal/audit"
)

// auditRecord returns record seq of chain with every field set, holding
// text a careless store would change or interpret: Chinese, quotes,
// backslashes, operator-like strings.
func auditRecord(chain string, seq int64, at time.Time) audit.Record {
	return audit.Record{
		Chain: chain, Seq: seq, PrevHash: fmt.Sprintf("%064x", seq-1), Hash: fmt.Sprintf("%064x", seq),
		At: at.UTC().Truncate(time.Millisecond), Kind: audit.KindAccess, Subject: "staff-1 \"示例个人甲\"",
		Org: "11100000000013338W", Roles: []string{"staff", "issuer"}, Operation: "query case",
		Action: "certificate.read", CaseID: "case-1", MatterCode: "M001", HolderCode: "321083197812162119",
		CertificateID: fmt.Sprintf("cert-%s-%d", chain, seq), IssuerCode: "11110000000021135M",
		Fields: []string{"data.address", "holder.name", `back\slash`}, Decision: audit.Allow,
		Reason: "案件 {\"$gt\": \"\"} 审查", PolicyVersion: 7, RequestID: "req-" + chain, Client: "192.0.2.1:5555",
		Basis: audit.BasisCase, V: audit.CanonicalVersion,
	}
}

// sameRecord compares records field by field, taking a nil and an empty
// list as equal.
func sameRecord(a, b audit.Record) bool {
	norm := func(r audit.Record) audit.Record {
		if len(r.Roles) == 0 {
			r.Roles = nil
		}
		if len(r.Fields) == 0 {
			r.Fields = nil
		}
		r.At = r.At.UTC()
		return r
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func recordIDs(rs []audit.Record) []string {
	out := make([]string, len(rs))
	for i := range rs {
		out[i] = rs[i].ID()
	}
	return out
}

// RunAudit runs the audit repository conformance suite.
func RunAudit(t *testing.T, open func(t *testing.T) audit.Repository) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 8, 0, 0, 123e6, time.UTC)

	t.Run("RoundTrip", func(t *testing.T) {
		r := open(t)
		var recs []audit.Record
		for i := int64(1); i <= 3; i++ {
			recs = append(recs, auditRecord("chain-a", i, base.Add(time.Duration(i)*time.Second)))
		}
		empty := auditRecord("chain-b", 1, base)
		empty.Roles, empty.Fields, empty.Kind, empty.Decision = []string{}, nil, audit.KindWrite, audit.Deny
		empty.Count, empty.Basis = 37, ""
		// A record of canonical version 1 keeps its version.
		v1 := auditRecord("chain-b", 2, base)
		v1.V, v1.Basis = 1, ""
		recs = append(recs, empty, v1)
		cps := []audit.Checkpoint{
			{Chain: "chain-a", Seq: 3, Hash: recs[2].Hash, At: base.Add(time.Minute), KeyID: "0123456789abcdef", Signature: "c2ln"},
			{Chain: "chain-a", Seq: 3, Hash: recs[2].Hash, At: base.Add(2 * time.Minute), KeyID: "0123456789abcdef", Signature: "ZmluYWw=", Final: true},
			{Chain: "chain-a", Seq: 1, Hash: recs[0].Hash, At: base.Add(time.Second), KeyID: "0123456789abcdef", Signature: "Zmlyc3Q="},
		}
		must(t, r.AppendAudit(ctx, recs, cps))
		got, err := r.AuditChain(ctx, "chain-a", 0, 10)
		must(t, err)
		if len(got) != 3 {
			t.Fatalf("chain-a: %d records, want 3", len(got))
		}
		for i := range got {
			if !sameRecord(got[i], recs[i]) {
				t.Fatalf("record changed on the way:\n got %+v\nwant %+v", got[i], recs[i])
			}
			if got[i].At.Location() != time.UTC {
				t.Fatalf("At not in UTC: %v", got[i].At)
			}
		}
		got, err = r.AuditChain(ctx, "chain-b", 0, 10)
		must(t, err)
		if len(got) != 2 || !sameRecord(got[0], empty) || !sameRecord(got[1], v1) {
			t.Fatalf("chain-b: %+v", got)
		}
		gotCps, err := r.AuditCheckpoints(ctx, "chain-a", 0)
		must(t, err)
		want := []audit.Checkpoint{cps[2], cps[0], cps[1]}
		if len(gotCps) != 3 {
			t.Fatalf("checkpoints: %+v", gotCps)
		}
		for i := range want {
			g, w := gotCps[i], want[i]
			if !g.At.Equal(w.At) || g.Chain != w.Chain || g.Seq != w.Seq || g.Hash != w.Hash || g.KeyID != w.KeyID ||
				g.Signature != w.Signature || g.Final != w.Final {
				t.Fatalf("checkpoint %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
		if none, err := r.AuditCheckpoints(ctx, "chain-b", 0); err != nil || len(none) != 0 {
			t.Fatalf("chain-b checkpoints: %v, %v", none, err)
		}
		// The checkpoints after a seq, for a check continued from there.
		if after, err := r.AuditCheckpoints(ctx, "chain-a", 1); err != nil || len(after) != 2 || after[0].Seq != 3 || after[0].Final || !after[1].Final {
			t.Fatalf("checkpoints after seq 1: %+v, %v", after, err)
		}
		if after, err := r.AuditCheckpoints(ctx, "chain-a", 3); err != nil || len(after) != 0 {
			t.Fatalf("checkpoints after seq 3: %+v, %v", after, err)
		}
		for chain, want := range map[string]int64{"chain-a": 3, "chain-b": 2, "chain-none": 0} {
			if head, err := r.AuditHead(ctx, chain); err != nil || head != want {
				t.Fatalf("head of %s: %d, %v; want %d", chain, head, err, want)
			}
		}
	})

	t.Run("DuplicatesRefused", func(t *testing.T) {
		r := open(t)
		first := auditRecord("c", 1, base)
		must(t, r.AppendAudit(ctx, []audit.Record{first}, nil))
		other := auditRecord("c", 1, base.Add(time.Hour))
		other.Reason = "forged"
		if err := r.AppendAudit(ctx, []audit.Record{other}, nil); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("a second record c.1: %v, want CONFLICT", err)
		}
		got, err := r.AuditChain(ctx, "c", 0, 10)
		must(t, err)
		if len(got) != 1 || !sameRecord(got[0], first) {
			t.Fatalf("a refused record changed the log: %+v", got)
		}
		cp := audit.Checkpoint{Chain: "c", Seq: 1, Hash: first.Hash, At: base, KeyID: "k", Signature: "s"}
		must(t, r.AppendAudit(ctx, nil, []audit.Checkpoint{cp}))
		cp2 := cp
		cp2.Signature = "other"
		if err := r.AppendAudit(ctx, nil, []audit.Checkpoint{cp2}); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("a second checkpoint c.1: %v, want CONFLICT", err)
		}
		if cps, _ := r.AuditCheckpoints(ctx, "c", 0); len(cps) != 1 || cps[0].Signature != "s" {
			t.Fatalf("a refused checkpoint changed the log: %+v", cps)
		}
	})

	t.Run("Query", func(t *testing.T) { runAuditQuery(t, open(t), base) })

	t.Run("AccessStats", func(t *testing.T) {
		r := open(t)
		mk := func(seq int64, org, kind, decision string, at time.Time) audit.Record {
			return audit.Record{Chain: "statschain", Seq: seq, PrevHash: "p", Hash: "h", At: at, Kind: kind, Org: org,
				Decision: decision, Roles: []string{}, Fields: []string{}}
		}
		must(t, r.AppendAudit(ctx, []audit.Record{
			mk(1, issuerA, audit.KindAccess, audit.Allow, base),
			mk(2, issuerA, audit.KindAccess, audit.Allow, base.Add(time.Minute)),
			mk(3, issuerA, audit.KindAccess, audit.Deny, base.Add(2*time.Minute)),
			mk(4, issuerA, audit.KindWrite, audit.Allow, base.Add(3*time.Minute)),
			mk(5, issuerB, audit.KindAccess, audit.Deny, base.Add(4*time.Minute)),
			mk(6, issuerB, audit.KindAccess, audit.Allow, base.Add(2*time.Hour)),
			mk(7, issuerA, audit.KindAccess, audit.NotDelivered, base.Add(5*time.Minute)),
		}, nil))
		summary := mk(8, issuerB, audit.KindAccess, audit.Deny, base.Add(6*time.Minute))
		summary.Count = 40 // one record standing for 40 refusals
		must(t, r.AppendAudit(ctx, []audit.Record{summary}, nil))
		st, err := r.AccessStats(ctx, base, base.Add(time.Hour))
		must(t, err)
		if st[issuerA] != (audit.AccessStat{Allowed: 2, Denied: 1}) || st[issuerB] != (audit.AccessStat{Denied: 41}) || len(st) != 2 {
			t.Fatalf("access statistics %+v", st)
		}
	})

	t.Run("Chains", func(t *testing.T) {
		r := open(t)
		if cs, err := r.AuditChains(ctx); err != nil || len(cs) != 0 {
			t.Fatalf("empty log: %v, %v", cs, err)
		}
		var recs []audit.Record
		for i := int64(1); i <= 25; i++ {
			recs = append(recs, auditRecord("b", i, base))
		}
		recs = append(recs, auditRecord("a", 1, base))
		must(t, r.AppendAudit(ctx, recs, []audit.Checkpoint{{Chain: "z", Seq: 4, Hash: "h", At: base, KeyID: "k", Signature: "s"}}))
		cs, err := r.AuditChains(ctx)
		must(t, err)
		if !slices.Equal(cs, []string{"a", "b", "z"}) {
			t.Fatalf("chains %v, want [a b z] (z has only a checkpoint)", cs)
		}
		// A request's context has a deadline (the server's auditStatus
		// verifies under one); the store must not choke on it.
		dctx, cancel := context.WithTimeout(ctx, time.Minute)
		cs, err = r.AuditChains(dctx)
		cancel()
		if err != nil || !slices.Equal(cs, []string{"a", "b", "z"}) {
			t.Fatalf("chains under a deadline: %v, %v", cs, err)
		}
		var seqs []int64
		for after := int64(0); ; {
			page, err := r.AuditChain(ctx, "b", after, 10)
			must(t, err)
			for _, x := range page {
				seqs = append(seqs, x.Seq)
			}
			if len(page) < 10 {
				break
			}
			after = page[len(page)-1].Seq
		}
		if len(seqs) != 25 || !slices.IsSorted(seqs) || seqs[0] != 1 || seqs[24] != 25 {
			t.Fatalf("paged chain b: %v", seqs)
		}
		if page, _ := r.AuditChain(ctx, "b", 23, 10); len(page) != 2 || page[0].Seq != 24 {
			t.Fatalf("after 23: %v", recordIDs(page))
		}
		if page, _ := r.AuditChain(ctx, "nope", 0, 10); len(page) != 0 {
			t.Fatalf("unknown chain: %v", recordIDs(page))
		}
		// Later batches of known chains list nothing twice; a new chain,
		// and one whose batch was refused, are listed.
		must(t, r.AppendAudit(ctx, []audit.Record{auditRecord("b", 26, base), auditRecord("c", 1, base)},
			[]audit.Checkpoint{{Chain: "b", Seq: 26, Hash: "h", At: base, KeyID: "k", Signature: "s"}}))
		if err := r.AppendAudit(ctx, []audit.Record{auditRecord("a", 1, base)}, nil); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("a seq stored twice: %v", err)
		}
		cs, err = r.AuditChains(ctx)
		if err != nil || !slices.Equal(cs, []string{"a", "b", "c", "z"}) {
			t.Fatalf("chains after more batches: %v, %v", cs, err)
		}
	})
}

// runAuditQuery checks every filter of audit.Query, alone and together,
// and keyset paging newest first.
func runAuditQuery(t *testing.T, r audit.Repository, base time.Time) {
	ctx := context.Background()
	var recs []audit.Record
	for i := int64(1); i <= 12; i++ {
		for _, chain := range []string{"x", "y"} {
			rec := auditRecord(chain, i, base.Add(time.Duration(i/2)*time.Minute)) // equal At in pairs: ties
			rec.CertificateID = fmt.Sprintf("cert-%d", i%3)
			rec.HolderCode = fmt.Sprintf("holder-%d", i%2)
			rec.IssuerCode = fmt.Sprintf("issuer-%d", i%4)
			rec.Org = map[string]string{"x": "org-x", "y": "org-y"}[chain]
			if i%5 == 0 {
				rec.Kind = audit.KindWrite
			}
			if i == 10 {
				rec.Action = "case.open"
			}
			recs = append(recs, rec)
		}
	}
	tricky := auditRecord("z", 1, base)
	tricky.CertificateID, tricky.HolderCode, tricky.Org = `{"$gt": ""}`, `' OR 1=1 --`, "$where"
	recs = append(recs, tricky)
	must(t, r.AppendAudit(ctx, recs, nil))

	check := func(name string, q audit.Query) {
		t.Helper()
		var want []audit.Record
		for i := range recs {
			if audit.Matches(&q, &recs[i]) {
				want = append(want, recs[i])
			}
		}
		slices.SortFunc(want, func(a, b audit.Record) int {
			if c := b.At.Compare(a.At); c != 0 {
				return c
			}
			if a.Chain != b.Chain {
				if b.Chain < a.Chain {
					return -1
				}
				return 1
			}
			return int(b.Seq - a.Seq)
		})
		if q.Limit > 0 {
			want = want[:min(q.Limit, len(want))]
		}
		got, err := r.QueryAudit(ctx, q)
		must(t, err)
		if !slices.Equal(recordIDs(got), recordIDs(want)) {
			t.Fatalf("%s:\n got %v\nwant %v", name, recordIDs(got), recordIDs(want))
		}
		for i := range got {
			if !sameRecord(got[i], want[i]) {
				t.Fatalf("%s: record %s changed", name, got[i].ID())
			}
		}
	}
	big := 1000
	check("all", audit.Query{Limit: big})
	check("default limit", audit.Query{})
	check("certificate", audit.Query{CertificateID: "cert-1", Limit: big})
	check("holder", audit.Query{HolderCode: "holder-0", Limit: big})
	check("org", audit.Query{Org: "org-y", Limit: big})
	check("scope issuer", audit.Query{ScopeIssuer: "issuer-2", Limit: big})
	check("scope holder", audit.Query{ScopeHolder: "holder-1", Limit: big})
	check("scope holder and other holder", audit.Query{ScopeHolder: "holder-1", HolderCode: "holder-0", Limit: big})
	check("access only", audit.Query{ScopeHolder: "holder-1", KindAccessOnly: true, Limit: big})
	check("a holder's access and case openings", audit.Query{ScopeHolder: "holder-0", KindAccessOnly: true, AlsoActions: []string{"case.open", `{"$gt": ""}`}, Limit: big})
	check("from", audit.Query{From: base.Add(3 * time.Minute), Limit: big})
	check("to", audit.Query{To: base.Add(3 * time.Minute), Limit: big})
	check("from to sub-millisecond", audit.Query{From: base.Add(time.Minute - time.Microsecond), To: base.Add(2*time.Minute + time.Microsecond), Limit: big})
	check("everything", audit.Query{CertificateID: "cert-0", Org: "org-x", ScopeIssuer: "issuer-2", KindAccessOnly: true,
		From: base.Add(time.Minute), To: base.Add(time.Hour), Limit: big})
	check("operator as data", audit.Query{CertificateID: `{"$gt": ""}`, Limit: big})
	check("injection as data", audit.Query{HolderCode: `' OR 1=1 --`, Org: "$where", Limit: big})
	check("no match", audit.Query{CertificateID: `{"$ne": null}`, Limit: big})
	check("limit", audit.Query{Org: "org-x", Limit: 5})

	// Paging by cursor, three at a time, visits every record once, newest
	// first, across the ties of equal At.
	for _, q := range []audit.Query{{Limit: 3}, {Org: "org-x", Limit: 3}, {ScopeHolder: "holder-0", From: base.Add(time.Minute), Limit: 4}} {
		var all []string
		for page := 0; ; page++ {
			got, err := r.QueryAudit(ctx, q)
			must(t, err)
			check(fmt.Sprintf("page %d of %+v", page, q), q)
			all = append(all, recordIDs(got)...)
			if len(got) < q.Limit {
				break
			}
			last := got[len(got)-1]
			q.After = &audit.Cursor{At: last.At, Chain: last.Chain, Seq: last.Seq}
		}
		q.After, q.Limit = nil, big
		want, err := r.QueryAudit(ctx, q)
		must(t, err)
		if !slices.Equal(all, recordIDs(want)) {
			t.Fatalf("paging %+v:\n got %v\nwant %v", q, all, recordIDs(want))
		}
	}
}

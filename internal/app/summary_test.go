package app_test

import (
	"testing"
	"time"

	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

// TestListingsShowWhatTheyAreAskedFor: listings read only the columns
// their view shows, so this checks from the outside that whatever a
// query selects of a listed licence comes back whole — the sealed
// document, seal, history, timeliness — through a holder's listing, an
// issuer's, a case, fragments and aliases alike, and that the summary
// reads (nothing of that selected) answer as before.
func TestListingsShowWhatTheyAreAskedFor(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo())
	const holderCode = "91350100MA0000001P"
	day := 24 * time.Hour
	holder := s.TokenFor(identity.TokenRequest{Subject: "h", Roles: []string{identity.RoleHolder}, Holder: holderCode, AMR: []string{"pwd"}, TTL: day})
	issuer := s.TokenFor(identity.TokenRequest{Subject: "i", Org: demo.MarketRegistry, Roles: []string{identity.RoleIssuer}, AMR: []string{"pwd"}, TTL: day})
	staff := s.Token("s", demo.ServiceCentre, identity.RoleStaff)

	type whole struct {
		ID             string
		SealedDocument string
		Doc            string
		Seal           struct{ Signature, KeyID string }
		History        []struct{ Action string }
		Timeliness     struct{ Mode string }
		Data           map[string]any
	}
	// What each licence is when read alone (a whole version), by its
	// issuer, who may read every licence listed here.
	alone := func(id string) whole {
		var one struct{ Certificate whole }
		s.Do(issuer, `query($id: ID!) { certificate(id: $id) { id sealedDocument seal { signature keyId } history { action } timeliness { mode } data } }`,
			map[string]any{"id": id}).Decode(t, &one)
		return one.Certificate
	}
	check := func(how string, got []whole, doc func(w whole) string) {
		t.Helper()
		if len(got) == 0 {
			t.Fatalf("%s: no licences", how)
		}
		for _, g := range got {
			want := alone(g.ID)
			if want.SealedDocument == "" || doc(g) != want.SealedDocument || g.Seal != want.Seal || len(g.History) != len(want.History) ||
				len(g.History) == 0 || g.Timeliness.Mode == "" || g.Timeliness != want.Timeliness {
				t.Errorf("%s: licence %s listed as %+v, read alone %+v", how, g.ID, g, want)
			}
		}
	}
	sealed := func(w whole) string { return w.SealedDocument }

	var me struct {
		Me struct{ Certificates []whole }
	}
	s.Do(holder, `{ me { certificates { id sealedDocument seal { signature keyId } history { action } timeliness { mode } } } }`, nil).Decode(t, &me)
	check("me", me.Me.Certificates, sealed)

	s.Do(holder, `{ me { certificates { ...whole } } } fragment whole on Certificate { id ... on Certificate { doc: sealedDocument seal { signature keyId } } history { action } timeliness { mode } }`, nil).Decode(t, &me)
	check("me through fragments and an alias", me.Me.Certificates, func(w whole) string { return w.Doc })

	var list struct {
		Certificates struct {
			Edges []struct{ Node whole }
		}
	}
	s.Do(issuer, `{ certificates(first: 10) { edges { node { id sealedDocument seal { signature keyId } history { action } timeliness { mode } } } } }`, nil).Decode(t, &list)
	var listed []whole
	for _, e := range list.Certificates.Edges {
		listed = append(listed, e.Node)
	}
	check("the issuer's listing", listed, sealed)

	var opened struct{ OpenCase struct{ ID string } }
	s.Do(staff, openCaseQ, map[string]any{"in": walkIn("SUM-1", holderCode, "350100-SP-0002")}).Decode(t, &opened)
	var c struct {
		Case struct{ Certificates []whole }
	}
	s.Do(staff, `query($id: ID!) { case(id: $id) { certificates { id seal { signature keyId } history { action } timeliness { mode } } } }`,
		map[string]any{"id": opened.OpenCase.ID}).Decode(t, &c)
	if len(c.Case.Certificates) == 0 {
		t.Fatal("the case shows no licences")
	}
	for _, g := range c.Case.Certificates {
		want := alone(g.ID)
		if g.Seal != want.Seal || len(g.History) == 0 || g.Timeliness != want.Timeliness {
			t.Errorf("case: licence %s listed as %+v, read alone %+v", g.ID, g, want)
		}
	}

	// Summary reads: the same licences and data.
	var sum struct {
		Me struct{ Certificates []whole }
	}
	s.Do(holder, `{ me { certificates { id data } } }`, nil).Decode(t, &sum)
	if len(sum.Me.Certificates) != len(me.Me.Certificates) {
		t.Fatalf("a summary listing has %d licences, the whole one %d", len(sum.Me.Certificates), len(me.Me.Certificates))
	}
	for _, g := range sum.Me.Certificates {
		if want := alone(g.ID); len(g.Data) == 0 || len(g.Data) != len(want.Data) {
			t.Errorf("summary of %s: data %v, read alone %v", g.ID, g.Data, want.Data)
		}
	}
}

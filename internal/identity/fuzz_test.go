package identity

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"certd/internal/apperr"
)

// FuzzVerify checks that Verify never panics, fails only with
// UNAUTHENTICATED errors, and accepts only principals that satisfy the
// claim rules.
func FuzzVerify(f *testing.F) {
	key := edKey()
	v := newVerifier(f, nil, key.Public())
	now := time.Now()
	f.Add(mustIssue(f, key))
	f.Add(sign(f, jwt.SigningMethodEdDSA, key, "", claimsAt(now)))
	f.Add(sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claimsAt(now)))
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.AAAA")
	f.Add("garbage")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(context.Background(), token)
		if err != nil {
			if code, _, _ := apperr.CodeOf(err); code != apperr.Unauthenticated || p != nil {
				t.Fatalf("Verify failed with %s (%v), principal %v", code, err, p)
			}
			return
		}
		if p.Subject == "" || len(p.Roles) == 0 {
			t.Fatalf("accepted principal without subject or roles: %+v", p)
		}
		for _, r := range p.Roles {
			if !ValidRole(r) {
				t.Fatalf("accepted unknown role %q", r)
			}
		}
		if slices.Contains(p.Roles, RoleHolder) && p.Holder == "" {
			t.Fatalf("accepted holder without holder claim: %+v", p)
		}
	})
}

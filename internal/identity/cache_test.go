package identity

import (
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"certd/internal/apperr"
)

func TestVerifyCache(t *testing.T) {
	key := edKey()
	clk := &clock{t: time.Now().Truncate(time.Second)}
	v := newVerifier(t, func(c *VerifierConfig) { c.Now = clk.Now }, key.Public())
	claims := claimsAt(clk.Now())
	claims["exp"] = clk.Now().Add(time.Minute).Unix()
	tok := sign(t, jwt.SigningMethodEdDSA, key, mustKID(t, key.Public()), claims)

	p1, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 || v.cache.size() != 1 {
		t.Fatalf("second Verify not served from cache (same=%v, size=%d)", p1 == p2, v.cache.size())
	}

	// Past exp but within the leeway the cached principal is still valid.
	clk.Add(time.Minute + DefaultLeeway - time.Second)
	if p, err := v.Verify(t.Context(), tok); err != nil || p != p1 {
		t.Fatalf("within leeway: %v, %v", p, err)
	}
	// Beyond exp + leeway the cache must not answer.
	clk.Add(2 * time.Second)
	_, err = v.Verify(t.Context(), tok)
	wantErr(t, err, apperr.Unauthenticated, "token expired")
}

func TestVerifyCacheBounded(t *testing.T) {
	key := edKey()
	const size = 10
	v := newVerifier(t, func(c *VerifierConfig) { c.CacheSize = size }, key.Public())
	now := time.Now()
	for i := range 3 * size {
		c := claimsAt(now)
		c["jti"] = fmt.Sprint(i)
		if _, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodEdDSA, key, "", c)); err != nil {
			t.Fatal(err)
		}
		if n := v.cache.size(); n > size {
			t.Fatalf("cache holds %d entries, limit %d", n, size)
		}
	}
}

func TestVerifyCacheDisabled(t *testing.T) {
	key := edKey()
	v := newVerifier(t, func(c *VerifierConfig) { c.CacheSize = -1 }, key.Public())
	tok := mustIssue(t, key)
	p1, err1 := v.Verify(t.Context(), tok)
	p2, err2 := v.Verify(t.Context(), tok)
	if err1 != nil || err2 != nil || p1 == p2 {
		t.Fatalf("disabled cache: %v %v same=%v", err1, err2, p1 == p2)
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	key := edKey()
	v := newVerifier(b, nil, key.Public())
	tok := mustIssue(b, key)
	if _, err := v.Verify(b.Context(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyUncached(b *testing.B) {
	key := edKey()
	v := newVerifier(b, func(c *VerifierConfig) { c.CacheSize = -1 }, key.Public())
	tok := mustIssue(b, key)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

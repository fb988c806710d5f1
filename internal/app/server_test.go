package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"certd/internal/app"
	"certd/internal/demo"
	"certd/internal/identity"
	"certd/internal/testkit"
)

func TestLimits(t *testing.T) {
	s := testkit.Start(t, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) {
		c.Limits.MaxBodyBytes = 4096
		c.Limits.MaxDepth = 3
	}))
	tok := s.Token("u", demo.MarketRegistry, identity.RoleIssuer)

	t.Run("depth bomb", func(t *testing.T) {
		if r := s.Do(tok, `{ matters { handlingUnits { code } } }`, nil); r.Code() != "" {
			t.Fatalf("a query within the depth limit failed: %+v", r.Errors)
		}
		for _, q := range []string{
			`{ matters { requiredTypes { issuer { code } } } }`,
			`{ matters { ...T } } fragment T on Matter { requiredTypes { ... on CertificateType { issuer { code } } } }`,
		} {
			r := s.Do(tok, q, nil)
			if r.Code() != "COMPLEXITY_LIMIT_EXCEEDED" || !strings.Contains(r.Errors[0].Message, "depth 4, limit 3") {
				t.Fatalf("%s: %+v", q, r.Errors)
			}
		}
	})

	t.Run("complexity bomb", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{")
		for i := range 500 {
			b.WriteString(" a")
			b.WriteString(strings.Repeat("x", i%3))
			b.WriteString(itoa(i))
			b.WriteString(": matters { requiredTypes { code issuer { code name } } }")
		}
		b.WriteString("}")
		body := `{"query":` + quote(b.String()) + `}`
		s2 := testkit.Start(t, testkit.WithDemo())
		r := s2.Post(s2.Token("u", demo.MarketRegistry, identity.RoleIssuer), []byte(body))
		if r.Code() != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Fatalf("got %+v", r.Errors)
		}
	})

	t.Run("oversized body", func(t *testing.T) {
		body := `{"query":"{ units { code } }","variables":{"pad":"` + strings.Repeat("x", 5000) + `"}}`
		r := s.Post(tok, []byte(body))
		if r.Status != 413 || r.Code() != "INVALID_INPUT" {
			t.Fatalf("status %d %+v", r.Status, r.Errors)
		}
	})

	t.Run("malformed JSON", func(t *testing.T) {
		r := s.Post(tok, []byte(`{"query": "{ units { code } }"`))
		if r.Status != 400 || r.Code() != "INVALID_INPUT" {
			t.Fatalf("status %d %+v", r.Status, r.Errors)
		}
	})

	t.Run("syntax error", func(t *testing.T) {
		if r := s.Do(tok, `{ units { code }`, nil); r.Code() != "INVALID_INPUT" {
			t.Fatalf("%+v", r.Errors)
		}
		if r := s.Do(tok, `{ units { nosuchfield } }`, nil); r.Code() != "INVALID_INPUT" {
			t.Fatalf("%+v", r.Errors)
		}
	})

	t.Run("probes and metrics", func(t *testing.T) {
		if code, body := s.Get("/healthz"); code != 200 || body != "ok\n" {
			t.Fatalf("healthz %d %q", code, body)
		}
		if code, body := s.Get("/readyz"); code != 200 || body != "ready\n" {
			t.Fatalf("readyz %d %q", code, body)
		}
		metrics := s.Metrics()
		if code, _ := s.Get("/metrics"); code != 404 {
			t.Errorf("metrics on the API's address: %d, want 404 (they are served on --metrics-addr)", code)
		}
		for _, want := range []string{`certd_graphql_requests_total{code="OK",operation="query matters"}`, `certd_graphql_requests_total{code="INVALID_INPUT"`, "certd_graphql_request_duration_seconds_bucket"} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if code, body := s.Get("/"); code != 200 || !strings.Contains(body, "graphiql") {
			t.Errorf("GraphiQL outside production: %d", code)
		}
	})

	t.Run("readyz fails when the store is gone", func(t *testing.T) {
		s3 := testkit.Start(t)
		s3.App.Close()
		if code, _ := s3.Get("/readyz"); code != 503 {
			t.Fatalf("readyz with a closed store: %d", code)
		}
	})
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10)))
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// production starts certd in production mode trusting one external key.
func production(t *testing.T) (*testkit.Server, ed25519.PrivateKey) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	path := filepath.Join(t.TempDir(), "idp.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testkit.Start(t, testkit.WithDemo(), testkit.WithConfig(func(c *app.Config) {
		c.Production = true
		c.JWTPublicKeys = []string{path}
		c.JWTIssuer = "https://idp.city.example"
		c.JWTAudience = "certd"
		c.MasterKey = testMasterKey
		c.PublicURL = "https://certd.city.example"
	}))
	return s, priv
}

func idpToken(t *testing.T, key ed25519.PrivateKey, mutate func(jwt.MapClaims)) string {
	now := time.Now()
	c := jwt.MapClaims{"iss": "https://idp.city.example", "aud": "certd", "sub": "u1", "org": demo.MarketRegistry,
		"roles": []string{"issuer"}, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if mutate != nil {
		mutate(c)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestProduction(t *testing.T) {
	s, key := production(t)
	q := `{ certificateTypes { code } }`

	if r := s.Do(idpToken(t, key, nil), q, nil); r.Code() != "" {
		t.Fatalf("a token of the identity provider: %+v", r.Errors)
	}
	for name, m := range map[string]func(jwt.MapClaims){
		"wrong issuer":   func(c jwt.MapClaims) { c["iss"] = "https://evil.example" },
		"wrong audience": func(c jwt.MapClaims) { c["aud"] = "other" },
		"expired":        func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() },
		"not yet valid":  func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() },
		"unknown role":   func(c jwt.MapClaims) { c["roles"] = []string{"root"} },
	} {
		if r := s.Do(idpToken(t, key, m), q, nil); r.Code() != "UNAUTHENTICATED" {
			t.Errorf("%s: %+v", name, r.Errors)
		}
	}
	// The data directory's own key is not trusted in production.
	if r := s.Do(s.Token("u1", demo.MarketRegistry, identity.RoleIssuer), q, nil); r.Code() != "UNAUTHENTICATED" {
		t.Errorf("embedded token in production: %+v", r.Errors)
	}
	if r := s.Do(idpToken(t, key, nil), `{ __schema { types { name } } }`, nil); r.Code() == "" {
		t.Error("introspection is on in production")
	}
	if code, _ := s.Get("/"); code != 404 {
		t.Errorf("GraphiQL in production: %d", code)
	}
}

func TestProductionNeedsExternalKeys(t *testing.T) {
	_, err := app.New(t.Context(), app.Config{DataDir: t.TempDir(), Production: true, MasterKey: testMasterKey})
	if err == nil || !strings.Contains(err.Error(), "--jwt-public-key") {
		t.Fatalf("got %v", err)
	}
}

func TestProductionNeedsAMasterKey(t *testing.T) {
	_, err := app.New(t.Context(), app.Config{DataDir: t.TempDir(), Production: true, JWKSFile: "x", JWTIssuer: "i", JWTAudience: "a"})
	if err == nil || !strings.Contains(err.Error(), "--master-key") || !errors.Is(err, app.ErrConfig) {
		t.Fatalf("got %v", err)
	}
}

// testMasterKey is a production master key for tests.
var testMasterKey = base64.StdEncoding.EncodeToString([]byte("certd test master key 0123456789"))

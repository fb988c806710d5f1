package identity

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"certd/internal/apperr"
)

func TestMiddleware(t *testing.T) {
	key := edKey()
	v := newVerifier(t, nil, key.Public())
	tok := mustIssue(t, key)
	tests := []struct {
		name    string
		headers []string // Authorization header values
		wantSub string   // principal expected by next; "" = anonymous
		wantErr string   // message passed to onError; next not called
	}{
		{name: "no header"},
		{name: "valid", headers: []string{"Bearer " + tok}, wantSub: "user-1"},
		{name: "scheme case-insensitive", headers: []string{"bearer " + tok}, wantSub: "user-1"},
		{name: "basic scheme", headers: []string{"Basic dXNlcjpwdw=="}, wantErr: "Authorization header must use the Bearer scheme"},
		{name: "empty bearer", headers: []string{"Bearer "}, wantErr: "empty bearer token"},
		{name: "empty header", headers: []string{""}, wantErr: "Authorization header must use the Bearer scheme"},
		{name: "two headers", headers: []string{"Bearer " + tok, "Bearer " + tok}, wantErr: "several Authorization headers"},
		{name: "bad token", headers: []string{"Bearer " + tok + "x"}, wantErr: "invalid token signature"},
		{name: "garbage token", headers: []string{"Bearer garbage"}, wantErr: "malformed token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nextCalled bool
			var got *Principal
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				nextCalled = true
				got, _ = FromContext(r.Context())
			})
			var gotErr error
			onError := func(w http.ResponseWriter, r *http.Request, err error) {
				gotErr = err
				w.WriteHeader(http.StatusUnauthorized)
			}
			req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			for _, h := range tt.headers {
				req.Header.Add("Authorization", h)
			}
			v.Middleware(next, onError).ServeHTTP(httptest.NewRecorder(), req)

			if tt.wantErr != "" {
				if nextCalled {
					t.Fatal("next called despite authentication failure")
				}
				wantErr(t, gotErr, apperr.Unauthenticated, tt.wantErr)
				return
			}
			if !nextCalled || gotErr != nil {
				t.Fatalf("next called %v, onError %v", nextCalled, gotErr)
			}
			if sub := subjectOf(got); sub != tt.wantSub {
				t.Fatalf("principal subject %q, want %q", sub, tt.wantSub)
			}
		})
	}
}

func TestMiddlewareDefaultOnError(t *testing.T) {
	v := newVerifier(t, nil, edKey().Public())
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next called") })
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer nope")
	rec := httptest.NewRecorder()
	v.Middleware(next, nil).ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("status %d, WWW-Authenticate %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestRequire(t *testing.T) {
	_, err := Require(context.Background())
	wantErr(t, err, apperr.Unauthenticated, "authentication required")
	if !errors.Is(err, apperr.ErrUnauthenticated) {
		t.Error("Require error does not match apperr.ErrUnauthenticated")
	}
	if _, ok := FromContext(WithPrincipal(context.Background(), nil)); ok {
		t.Error("nil principal reported as present")
	}
	want := &Principal{Subject: "u", Roles: []string{RoleStaff}}
	p, err := Require(WithPrincipal(context.Background(), want))
	if err != nil || p != want {
		t.Fatalf("Require = %v, %v", p, err)
	}
}

func TestValidRole(t *testing.T) {
	for _, r := range KnownRoles {
		if !ValidRole(r) {
			t.Errorf("ValidRole(%q) = false", r)
		}
	}
	for _, r := range []string{"", "Staff", "admin", "staff "} {
		if ValidRole(r) {
			t.Errorf("ValidRole(%q) = true", r)
		}
	}
}

func subjectOf(p *Principal) string {
	if p == nil {
		return ""
	}
	return p.Subject
}

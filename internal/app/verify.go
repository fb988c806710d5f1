package app

import (
	"encoding/json"
	"net/http"
	"net/url"

	"certd/internal/certificate"
)

// verifyURL is the public verification address of a licence, which
// printed licences carry as a QR code.
func verifyURL(r *http.Request, id string) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/verify?id=" + url.QueryEscape(id)
}

// verifyHandler answers GET /verify?id=… for anyone, as verifyCertificate
// does: found, citable, seal valid, state and the reasons.
func verifyHandler(lic *certificate.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := lic.Verify(r.Context(), r.URL.Query().Get("id"))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": "verification failed"})
			return
		}
		state := any(nil)
		if v.Found {
			state = v.State
		}
		reasons := v.Reasons
		if reasons == nil {
			reasons = []string{}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": v.ID, "found": v.Found, "citable": v.Citable,
			"sealValid": v.SealValid, "state": state, "issuer": v.IssuerCode, "reasons": reasons})
	})
}

package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestResolveClient(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8, 192.0.2.10", "::ffff:198.51.100.1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer string
		xff        []string
		trusted    bool
		want       string
	}{
		{"no proxies configured: headers ignored", "203.0.113.9:5000", []string{"198.51.100.77"}, false, "203.0.113.9"},
		{"untrusted peer: headers ignored", "203.0.113.9:5000", []string{"198.51.100.77"}, true, "203.0.113.9"},
		{"trusted peer names the client", "10.1.2.3:443", []string{"198.51.100.77"}, true, "198.51.100.77"},
		{"a forged entry left of the real client is ignored", "10.1.2.3:443", []string{"1.2.3.4, 198.51.100.77"}, true, "198.51.100.77"},
		{"a chain of trusted proxies", "10.1.2.3:443", []string{"198.51.100.77, 192.0.2.10", "10.9.9.9"}, true, "198.51.100.77"},
		{"trusted peer without the header", "192.0.2.10:80", nil, true, "192.0.2.10"},
		{"a malformed hop stops the walk", "10.1.2.3:443", []string{"198.51.100.77, not-an-ip, 10.2.2.2"}, true, "10.2.2.2"},
		{"IPv6 client behind a proxy", "[::ffff:198.51.100.1]:443", []string{"2001:db8::5"}, true, "2001:db8::5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/verify", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			tr := trusted
			if !c.trusted {
				tr = nil
			}
			if got := resolveClient(r, tr); got != c.want {
				t.Fatalf("client %q, want %q", got, c.want)
			}
		})
	}
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Fatal("a bad prefix was accepted")
	}
}

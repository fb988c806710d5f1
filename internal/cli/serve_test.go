package cli

import (
	"net"
	"strings"
	"testing"
)

func TestAnnounceSaysWhereEverythingIs(t *testing.T) {
	api := &net.TCPAddr{IP: net.IPv4zero, Port: 8080}
	m, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	msg, attrs := announce(api, m, false)
	for _, want := range []string{"GraphiQL http://localhost:8080/", "console http://localhost:8080/console/", "metrics http://" + m.Addr().String() + "/metrics"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if len(attrs) != 8 {
		t.Errorf("attrs %v", attrs)
	}
	msg, _ = announce(&net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 443}, nil, true)
	for _, want := range []string{"GraphiQL off (--production)", "console http://10.0.0.5:443/console/", "metrics off"} {
		if !strings.Contains(msg, want) {
			t.Errorf("production: %q lacks %q", msg, want)
		}
	}
}

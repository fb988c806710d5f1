package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBurstThenRate(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	l := New(30, 5, c.now) // one token every 2 s
	for i := range 5 {
		if ok, _ := l.Allow("203.0.113.7"); !ok {
			t.Fatalf("call %d of the burst of 5 was refused", i+1)
		}
	}
	ok, retry := l.Allow("203.0.113.7")
	if ok || retry <= 0 || retry > 2*time.Second {
		t.Fatalf("the 6th call: allowed %v, retry after %v; want refused, within 2s", ok, retry)
	}
	// A refusal does not use a token: after the wait, exactly one more.
	c.t = c.t.Add(retry)
	if ok, _ := l.Allow("203.0.113.7"); !ok {
		t.Fatal("refused after waiting the retry time")
	}
	if ok, _ := l.Allow("203.0.113.7"); ok {
		t.Fatal("two calls allowed after waiting for one token")
	}
	// Another address has its own bucket.
	if ok, _ := l.Allow("203.0.113.8"); !ok {
		t.Fatal("another address was refused")
	}
}

func TestIPv6SharesTheSlash64(t *testing.T) {
	c := &clock{t: time.Now()}
	l := New(60, 2, c.now)
	for _, a := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"} {
		if ok, _ := l.Allow(a); !ok {
			t.Fatalf("%s refused", a)
		}
	}
	if ok, _ := l.Allow("2001:db8:1:2::abcd"); ok {
		t.Fatal("a third address of the same /64 got past a burst of 2")
	}
	if ok, _ := l.Allow("2001:db8:1:3::1"); !ok {
		t.Fatal("another /64 was refused")
	}
	if Key("::ffff:192.0.2.1") != "192.0.2.1" {
		t.Fatalf("an IPv4-mapped address keys as %q", Key("::ffff:192.0.2.1"))
	}
}

func TestNilLimiterAllows(t *testing.T) {
	l := New(0, 10, nil)
	if l != nil {
		t.Fatal("a rate of 0 should disable the limiter")
	}
	for range 1000 {
		if ok, _ := l.Allow("192.0.2.1"); !ok {
			t.Fatal("a disabled limiter refused")
		}
	}
}

func TestMemoryStaysBounded(t *testing.T) {
	c := &clock{t: time.Now()}
	l := New(60, 1, c.now)
	l.max = 1000
	for i := range 10_000 {
		l.Allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if n := len(l.clients); n > 1000 {
		t.Fatalf("%d buckets kept, bound 1000", n)
	}
}

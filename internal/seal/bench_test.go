package seal

import "testing"

// BenchmarkSign measures one seal over a 1 KiB document.
func BenchmarkSign(b *testing.B) {
	f := sharedFixture(b)
	doc := benchDoc()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.signer.Sign(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignParallel measures Sign from all cores on one Signer.
func BenchmarkSignParallel(b *testing.B) {
	f := sharedFixture(b)
	doc := benchDoc()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.signer.Sign(doc); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerify measures verifying a seal over a 1 KiB document with the
// issuer's key in the cache, the common case.
func BenchmarkVerify(b *testing.B) {
	f := sharedFixture(b)
	doc := benchDoc()
	s, err := f.signer.Sign(doc)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(f.kp.PublicKeyPEM, doc, s.Signature); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyUncached is BenchmarkVerify with the key parsed every time.
func BenchmarkVerifyUncached(b *testing.B) {
	f := sharedFixture(b)
	doc := benchDoc()
	s, err := f.signer.Sign(doc)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		keyCache.Lock()
		clear(keyCache.m)
		keyCache.Unlock()
		if err := Verify(f.kp.PublicKeyPEM, doc, s.Signature); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDoc() []byte {
	doc := make([]byte, 1024)
	for i := range doc {
		doc[i] = byte('a' + i%26)
	}
	return doc
}

package seal

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// FuzzVerify feeds Verify arbitrary keys, documents and signatures. It must
// never panic, and a document other than the fixture's must never verify
// against the fixture's signature under the fixture's key.
func FuzzVerify(f *testing.F) {
	fx := sharedFixture(f)
	der, err := base64.StdEncoding.DecodeString(fx.seal.Signature)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fx.kp.PublicKeyPEM, testDoc, fx.seal.Signature)                                   // valid
	f.Add(fx.kp.PublicKeyPEM, append(bytes.Clone(testDoc), 0), fx.seal.Signature)           // longer document
	f.Add(fx.kp.PublicKeyPEM, testDoc[1:], fx.seal.Signature)                               // shorter document
	f.Add(fx.kp.PublicKeyPEM, testDoc, base64.StdEncoding.EncodeToString(der[:len(der)-3])) // truncated DER
	f.Add(fx.kp.PublicKeyPEM, []byte("x"), "!!!")                                           // not base64
	f.Add("", []byte{}, "")                                                                 // empty
	f.Add("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n", testDoc, "MEUCIQ==")
	f.Add("garbage", []byte("\x00\xff"), "AAAA")

	f.Fuzz(func(t *testing.T, pubPEM string, doc []byte, sig string) {
		err := Verify(pubPEM, doc, sig)
		if err == nil && pubPEM == fx.kp.PublicKeyPEM && sig == fx.seal.Signature && !bytes.Equal(doc, testDoc) {
			t.Fatalf("document %q verifies against the fixture seal", doc)
		}
		// A mutated document never verifies against the original signature.
		if !bytes.Equal(doc, testDoc) {
			if Verify(fx.kp.PublicKeyPEM, doc, fx.seal.Signature) == nil {
				t.Fatalf("mutated document %q verifies against the original signature", doc)
			}
		} else if pubPEM == fx.kp.PublicKeyPEM && sig == fx.seal.Signature && err != nil {
			t.Fatalf("the valid seal does not verify: %v", err)
		}
	})
}

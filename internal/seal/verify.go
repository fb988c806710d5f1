package seal

import (
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"

	"certd/internal/apperr"

	"github.com/emmansun/gmsm/sm2"
)

// maxSignatureB64 bounds the signature text accepted; an SM2 DER signature
// is at most 72 bytes, 96 base64 characters.
const maxSignatureB64 = 256

// ErrSignatureMismatch is the cause (matched with errors.Is) of Verify's
// error when a well-formed signature does not verify: the document was
// altered, or another key signed it.
var ErrSignatureMismatch = errors.New("SM2 signature verification failed")

// Verify checks that signatureB64, standard base64 of a DER SM2 signature,
// seals doc under the SM2 public key in pubPEM with the default
// distinguishing ID. It returns nil when the seal is valid, and otherwise
// an INVALID_INPUT error that says why: the key, the base64 or the DER is
// malformed, or the signature does not match (errors.Is
// ErrSignatureMismatch). Parsed keys are cached, so verifying many
// documents of one issuer parses its key once.
func Verify(pubPEM string, doc []byte, signatureB64 string) error {
	key, err := lookupPublicKey(pubPEM)
	if err != nil {
		return err
	}
	if len(doc) == 0 {
		return apperr.Invalid("sealed document is empty")
	}
	der, err := decodeSignature(signatureB64)
	if err != nil {
		return err
	}
	if !sm2.VerifyASN1WithSM2(key.pub, []byte(DistinguishingID), doc, der) {
		return apperr.Wrap(ErrSignatureMismatch, apperr.InvalidInput, "seal signature does not match the document and key")
	}
	return nil
}

// decodeSignature decodes signatureB64 and checks that it is a DER
// SEQUENCE of two INTEGERs in [1, n-1].
func decodeSignature(signatureB64 string) ([]byte, error) {
	if signatureB64 == "" {
		return nil, apperr.Invalid("seal signature is empty")
	}
	if len(signatureB64) > maxSignatureB64 {
		return nil, apperr.Invalid("seal signature is too long (%d characters, at most %d)", len(signatureB64), maxSignatureB64)
	}
	der, err := base64.StdEncoding.DecodeString(signatureB64)
	if err != nil {
		return nil, apperr.Wrap(err, apperr.InvalidInput, "seal signature is not valid base64")
	}
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, apperr.Wrap(err, apperr.InvalidInput, "seal signature is not a DER SM2 signature")
	}
	if len(rest) != 0 {
		return nil, apperr.Invalid("seal signature has data after its DER encoding")
	}
	n := sm2.P256().Params().N
	if sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.Cmp(n) >= 0 || sig.S.Cmp(n) >= 0 {
		return nil, apperr.Invalid("seal signature values are out of range")
	}
	return der, nil
}

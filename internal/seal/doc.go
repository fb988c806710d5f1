// Package seal implements the SM2 electronic seal (电子印章) with which
// issuing units seal electronic licences.
//
// The wire format is fixed so that other SM2 implementations (OpenSSL 3,
// GmSSL, …) verify our seals and we verify theirs:
//
//   - Keys are SM2 keys on curve sm2p256v1. A public key travels as a PEM
//     "PUBLIC KEY" block holding a DER SubjectPublicKeyInfo with algorithm
//     id-ecPublicKey and named curve SM2 (OID 1.2.156.10197.1.301), the
//     same encoding `openssl pkey -pubout` writes for an SM2 key.
//   - A seal signature is SM2 over SM3 (GB/T 32918.2) with the default
//     distinguishing ID "1234567812345678": the signed digest is
//     SM3(Z || document) with Z = SM3(ENTL || ID || a || b || xG || yG ||
//     xA || yA). The signature is the DER SEQUENCE { r INTEGER, s INTEGER },
//     standard base64 encoded.
//   - A key id is the first 16 hex characters of the SM3 hash of the DER
//     SubjectPublicKeyInfo; see KeyID.
//
// With OpenSSL 3, given the base64-decoded signature in sig.der:
//
//	openssl dgst -sm3 -verify pub.pem -signature sig.der \
//	    -sigopt distid:1234567812345678 document
//
// OpenSSL 3.0 does not default to that ID: without -sigopt distid it
// reports a verification failure.
//
// Private keys never leave the process unencrypted: they are stored as
// SM4-GCM blobs under a MasterKey (see MasterKey.EncryptPrivateKey), bound to
// the unit code they belong to.
//
// Errors caused by malformed input from callers (keys, signatures,
// documents) are apperr INVALID_INPUT errors; everything else is an internal
// error.
package seal

// Algorithm names the seal algorithm in Seal.Algorithm: SM2 signatures over
// the SM3 digest with the default distinguishing ID.
const Algorithm = "SM2-SM3"

// DistinguishingID is the SM2 distinguishing ID (user ID) that enters the Z
// value of every seal signature: the GB/T 32918 default.
const DistinguishingID = "1234567812345678"

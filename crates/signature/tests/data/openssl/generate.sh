#!/bin/sh
# Regenerates the OpenSSL-made RSA fixtures in this directory. Run by hand (never by tests):
#   cd crates/signature/tests/data/openssl && sh generate.sh
# Each key size gets every key form hookwire reads and two OpenSSL signatures
# (RSASSA-PKCS1-v1_5 / SHA-256, `openssl dgst -sha256 -sign`).
set -eu
printf '%s' '{"eventId":"4f0c3f5e-6f5e-4b6e-9d7e-0c3f5e6f5e4b","eventDate":"2026-12-02T14:40:00Z","eventCode":"licenseActivated","resourceId":"lic_1","callAttempt":1,"payload":{"seatsUsed":3,"note":"caf\u00e9 \u2713"}}' > body.json
: > empty.txt
for bits in 2048 4096; do
  k="rsa$bits"
  openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$k.pkcs8.pem" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$k.pkcs8.pem" -outform DER -out "$k.pkcs8.der"
  openssl rsa -in "$k.pkcs8.pem" -traditional -out "$k.pkcs1.pem" 2>/dev/null
  openssl rsa -in "$k.pkcs8.pem" -traditional -outform DER -out "$k.pkcs1.der" 2>/dev/null
  openssl pkey -in "$k.pkcs8.pem" -pubout -out "$k.spki.pem"
  openssl pkey -in "$k.pkcs8.pem" -pubout -outform DER -out "$k.spki.der"
  openssl rsa -in "$k.pkcs8.pem" -RSAPublicKey_out -out "$k.pub.pkcs1.pem" 2>/dev/null
  openssl rsa -in "$k.pkcs8.pem" -RSAPublicKey_out -outform DER -out "$k.pub.pkcs1.der" 2>/dev/null
  openssl rsa -in "$k.pkcs8.pem" -noout -modulus 2>/dev/null | sed 's/^Modulus=//' | xxd -r -p \
    | base64 -w0 | tr '+/' '-_' | tr -d '=' > "$k.modulus.b64url"
  for body in body.json empty.txt; do
    openssl dgst -sha256 -sign "$k.pkcs8.pem" "$body" | base64 -w0 > "$k.$body.sig.b64"
  done
done

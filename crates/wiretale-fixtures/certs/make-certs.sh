#!/bin/sh
# Regenerates the DER certificates in this directory (run from anywhere; needs openssl 3).
#
# They were generated ONCE with this script and committed; the fixtures embed the committed
# files (include_bytes!), so builds are deterministic. Running the script again makes new RSA
# keys and therefore different bytes: then rebuild testdata/ with
# `cargo run -p wiretale-fixtures --bin build-testdata` and commit both.
# Private keys are thrown away (nothing needs them: the captures' encrypted parts are filler).
set -eu
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir newcerts
: > index.txt
cat > ca.cnf <<'CNF'
[ ca ]
default_ca = fixture
[ fixture ]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
organizationName = optional
organizationalUnitName = optional
countryName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ https_intermediate ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://crl.example.net/fixture-root.crl
authorityInfoAccess = OCSP;URI:http://ocsp.example.net/root
[ https_server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:secure.example.com, DNS:www.secure.example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://crl.example.net/fixture-intermediate.crl
authorityInfoAccess = OCSP;URI:http://ocsp.example.net, caIssuers;URI:http://certs.example.net/fixture-intermediate.der
[ case_server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:ocs.fg.example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://crl.verisign.com/pca3.crl
authorityInfoAccess = OCSP;URI:http://ocsp.verisign.com
CNF

sign() { # csr-subject key ext serial issuer-cert issuer-key out [selfsign]
  openssl req -new -config ca.cnf -key "$2" -subj "$1" -out req.csr
  echo "$4" > serial
  if [ "$5" = self ]; then
    openssl ca -batch -preserveDN -config ca.cnf -selfsign -keyfile "$2" -in req.csr -out "$7.pem" \
      -startdate 20240101000000Z -enddate 20340101000000Z -extensions "$3" -notext 2>/dev/null
  else
    openssl ca -batch -preserveDN -config ca.cnf -cert "$5" -keyfile "$6" -in req.csr -out "$7.pem" \
      -startdate 20240101000000Z -enddate 20340101000000Z -extensions "$3" -notext 2>/dev/null
  fi
  openssl x509 -in "$7.pem" -outform DER -out "$out/$7.der"
}

for k in root inter server case_root case_server; do
  openssl genrsa -out "$k.key" 2048 2>/dev/null
done
sign "/C=ZZ/O=wiretale fixtures/CN=Fixture Root CA" root.key root 1001 self self https-root
sign "/C=ZZ/O=wiretale fixtures/CN=Fixture Intermediate CA" inter.key https_intermediate 2002 https-root.pem root.key https-intermediate
sign "/C=ZZ/O=wiretale fixtures/CN=secure.example.com" server.key https_server 3003 https-intermediate.pem inter.key https-server
sign "/C=ZZ/O=wiretale fixtures/OU=Class 3 Public Primary Certification Authority (fixture)/CN=Fixture Class 3 PCA" case_root.key root 4004 self self case-study-root
sign "/C=ZZ/O=wiretale fixtures/CN=ocs.fg.example.com" case_server.key case_server 5005 case-study-root.pem case_root.key case-study-server
ls -l "$out"/*.der

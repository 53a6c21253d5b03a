package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the files a cluster's API server needs: a CA, a serving
// certificate signed by it, the service account key pair and a token file.
// They are made with Go's crypto so the testbed needs no openssl.
type pki struct {
	dir   string
	token string
}

func (p pki) caCert() string     { return filepath.Join(p.dir, "ca.crt") }
func (p pki) caKey() string      { return filepath.Join(p.dir, "ca.key") }
func (p pki) serverCert() string { return filepath.Join(p.dir, "apiserver.crt") }
func (p pki) serverKey() string  { return filepath.Join(p.dir, "apiserver.key") }
func (p pki) saKey() string      { return filepath.Join(p.dir, "sa.key") }
func (p pki) saPub() string      { return filepath.Join(p.dir, "sa.pub") }
func (p pki) tokens() string     { return filepath.Join(p.dir, "tokens.csv") }

// newPKI writes a fresh CA, serving certificate, service account keys and a
// random admin token (in system:masters) into dir.
func newPKI(dir, clusterName string) (pki, error) {
	p := pki{dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return p, err
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "meridian-testbed-" + clusterName + "-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return p, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return p, err
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP(Host)},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		return p, err
	}
	// The service account signer: RSA, which every version of every
	// component accepts.
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return p, err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return p, err
	}
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return p, err
	}
	p.token = hex.EncodeToString(tok)

	caKeyDER, err := x509.MarshalECPrivateKey(caKey)
	if err != nil {
		return p, err
	}
	srvKeyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return p, err
	}
	files := []struct {
		path, kind string
		der        []byte
	}{
		{p.caCert(), "CERTIFICATE", caDER},
		{p.caKey(), "EC PRIVATE KEY", caKeyDER},
		{p.serverCert(), "CERTIFICATE", srvDER},
		{p.serverKey(), "EC PRIVATE KEY", srvKeyDER},
		{p.saKey(), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey)},
		{p.saPub(), "PUBLIC KEY", saPub},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.kind, Bytes: f.der}), 0o600); err != nil {
			return p, err
		}
	}
	// token,user,uid,"groups"
	line := fmt.Sprintf("%s,meridian-admin,meridian-admin,\"system:masters\"\n", p.token)
	return p, os.WriteFile(p.tokens(), []byte(line), 0o600)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err)
	}
	return n
}

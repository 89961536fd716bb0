package main

// PKI for one testenv: a CA and a service-account signing key that persist in the data
// directory (so clients and issued tokens survive a restart), and a serving certificate
// issued fresh at every start for the hosts the server answers on.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

type pkiFiles struct {
	caCert, caKey           string
	servingCert, servingKey string
	saKey, saPub            string
	caPEM                   []byte
}

func newPKIFiles(dir string) pkiFiles {
	return pkiFiles{
		caCert:      filepath.Join(dir, "ca.crt"),
		caKey:       filepath.Join(dir, "ca.key"),
		servingCert: filepath.Join(dir, "serving.crt"),
		servingKey:  filepath.Join(dir, "serving.key"),
		saKey:       filepath.Join(dir, "sa.key"),
		saPub:       filepath.Join(dir, "sa.pub"),
	}
}

// ensurePKI loads or creates the CA and the service-account key, then issues a serving
// certificate for hosts (IPs or DNS names).
func ensurePKI(dir string, hosts []string) (pkiFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return pkiFiles{}, err
	}
	p := newPKIFiles(dir)
	caCert, caKey, err := loadOrCreateCA(p)
	if err != nil {
		return p, fmt.Errorf("CA: %w", err)
	}
	if err := ensureSAKey(p); err != nil {
		return p, fmt.Errorf("service-account key: %w", err)
	}
	if err := issueServingCert(p, caCert, caKey, hosts); err != nil {
		return p, fmt.Errorf("serving certificate: %w", err)
	}
	p.caPEM, err = os.ReadFile(p.caCert)
	return p, err
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
}

func writePEM(path, kind string, der []byte) error {
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return x509.ParseECPrivateKey(block.Bytes)
}

func loadOrCreateCA(p pkiFiles) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if data, err := os.ReadFile(p.caCert); err == nil {
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, nil, fmt.Errorf("%s: no PEM block", p.caCert)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, err
		}
		key, err := readKey(p.caKey)
		return cert, key, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "brfed-kube-testenv-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	// Key first: a crash between the writes leaves no certificate without its key.
	if err := writeKey(p.caKey, key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(p.caCert, "CERTIFICATE", der); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func issueServingCert(p pkiFiles, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	sn, err := serial()
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writeKey(p.servingKey, key); err != nil {
		return err
	}
	return writePEM(p.servingCert, "CERTIFICATE", der)
}

func ensureSAKey(p pkiFiles) error {
	if _, err := os.Stat(p.saKey); err == nil {
		if _, err := os.Stat(p.saPub); err == nil {
			return nil
		}
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := writeKey(p.saKey, key); err != nil {
		return err
	}
	return writePEM(p.saPub, "PUBLIC KEY", pub)
}

// writeFileAtomic writes through a temporary file and a rename, so a reader never sees half.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

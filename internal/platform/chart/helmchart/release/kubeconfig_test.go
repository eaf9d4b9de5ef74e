package release

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestStepKubeconfig: the step's kubeconfig carries the cluster's CA as data also when the server's configuration
// names it as a file (an in-cluster server's: a file of the server's own pod, absent where the step runs), the
// ServiceAccount's token and namespace, and nothing of the server's own credentials.
func TestStepKubeconfig(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n")
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	server := &rest.Config{Host: "https://10.96.0.1:443", BearerToken: "the-servers-own-token",
		BearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token", TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}}
	for _, tt := range []struct {
		name   string
		config *rest.Config
	}{
		{"CA as a file", server},
		{"CA as data", &rest.Config{Host: server.Host, BearerToken: server.BearerToken, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := stepKubeconfig(tt.config, "demo", "krateo-x", "the-step-token")
			if err != nil {
				t.Fatal(err)
			}
			kc, err := clientcmd.Load(b)
			if err != nil {
				t.Fatal(err)
			}
			c := kc.Clusters["cluster"]
			if c == nil || c.Server != server.Host || !bytes.Equal(c.CertificateAuthorityData, ca) || c.CertificateAuthority != "" {
				t.Errorf("cluster = %+v, want server %s and the CA as data, no file", c, server.Host)
			}
			if a := kc.AuthInfos["krateo-x"]; a == nil || a.Token != "the-step-token" || a.TokenFile != "" {
				t.Errorf("user = %+v, want the step's token only", a)
			}
			if ctx := kc.Contexts[kc.CurrentContext]; ctx == nil || ctx.Namespace != "demo" {
				t.Errorf("current context = %+v, want namespace demo", ctx)
			}
			if strings.Contains(string(b), "the-servers-own-token") || strings.Contains(string(b), "serviceaccount/token") {
				t.Errorf("the step's kubeconfig holds the server's credentials:\n%s", b)
			}
		})
	}
	if _, err := stepKubeconfig(&rest.Config{Host: server.Host, TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(t.TempDir(), "none")}},
		"demo", "krateo-x", "t"); err == nil || !strings.Contains(err.Error(), "CA") {
		t.Errorf("stepKubeconfig with a missing CA file = %v, want an error naming the CA", err)
	}
}

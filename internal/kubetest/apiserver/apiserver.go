// Package apiserver starts a private Kubernetes API server for a test: etcd and kube-apiserver on loopback ports
// of their own, data, certificates and keys in the test's temp dir, RBAC authorization and an admin token — what
// controller-runtime's envtest does, without nodes (pods never run). It is for tests of what talks to the API
// alone (CRDs, watches, status subresources); workflows that need pods belong to the real cluster (kubetest).
//
// Where the binaries come from, and when the tests run: etcd is Debian's (/usr/bin/etcd, or $RUNPLANE_ETCD);
// kube-apiserver is the one hack/kube/cluster.sh builds into ~/.cache/runplane-k8s/bin (or $RUNPLANE_KUBE_APISERVER).
// In CI, `go test ./...` (hack/test.sh) runs before cluster.sh has built it, so Start skips when a binary is
// missing — unless RUNPLANE_KUBE_TEST=1, the kube phase (hack/test-kube.sh), which runs the packages using this
// helper after the cluster's binaries exist; there a missing binary fails the test. A developer with the binaries
// gets the tests in a plain `go test`.
//
// Only _test.go files may import it. It never touches the shared test cluster, and it stops what it started by
// PID (and the kernel kills both processes if the test binary dies: pdeathsig).
package apiserver

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/runplane/runplane/internal/pdeathsig"
)

// Server is a running API server.
type Server struct {
	// Config reaches it as cluster admin (system:masters).
	Config *rest.Config
	// Kubeconfig is a kubeconfig file for Config, for code that loads one (--kubeconfig).
	Kubeconfig string
	// URL is its https:// address on 127.0.0.1.
	URL string
}

// Start starts etcd and kube-apiserver for t and stops them when t ends; it skips t when a binary is missing
// (see the package doc).
func Start(t testing.TB) *Server {
	t.Helper()
	etcd, apiserver := binary("RUNPLANE_ETCD", "/usr/bin/etcd"), binary("RUNPLANE_KUBE_APISERVER", apiserverPath())
	for _, b := range []string{etcd, apiserver} {
		if _, err := os.Stat(b); err != nil {
			if os.Getenv("RUNPLANE_KUBE_TEST") == "1" {
				t.Fatalf("apiserver: %s is missing, and RUNPLANE_KUBE_TEST=1 needs it: %v", b, err)
			}
			t.Skipf("needs %s (hack/kube/cluster.sh builds kube-apiserver; make test-kube runs these tests)", b)
		}
	}
	dir := t.TempDir()
	ports := freePorts(t, 3)
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	start(t, filepath.Join(dir, "etcd.log"), etcd,
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", "http://127.0.0.1:"+strconv.Itoa(ports[1]),
		"--initial-advertise-peer-urls", "http://127.0.0.1:"+strconv.Itoa(ports[1]),
		"--initial-cluster", "default=http://127.0.0.1:"+strconv.Itoa(ports[1]),
		"--unsafe-no-fsync")

	token := randomHex(t)
	tokens := filepath.Join(dir, "tokens.csv")
	writeFile(t, tokens, token+",admin,admin,system:masters\n")
	saKey := filepath.Join(dir, "sa.key")
	writeFile(t, saKey, rsaKeyPEM(t))
	url := "https://127.0.0.1:" + strconv.Itoa(ports[2])
	start(t, filepath.Join(dir, "apiserver.log"), apiserver,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(ports[2]),
		"--cert-dir", filepath.Join(dir, "certs"),
		"--token-auth-file", tokens,
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", saKey,
		"--service-account-signing-key-file", saKey,
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--disable-admission-plugins", "ServiceAccount",
		"--allow-privileged=true")

	cfg := &rest.Config{Host: url, BearerToken: token, QPS: 100, Burst: 200,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	s := &Server{Config: cfg, URL: url, Kubeconfig: filepath.Join(dir, "kubeconfig")}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: url, InsecureSkipTLSVerify: true}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin", Namespace: "default"}
	kc.CurrentContext = "test"
	if err := clientcmd.WriteToFile(*kc, s.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	s.waitReady(t, filepath.Join(dir, "apiserver.log"))
	return s
}

// waitReady waits for /readyz to answer ok.
func (s *Server) waitReady(t testing.TB, logFile string) {
	t.Helper()
	rt, err := rest.TransportFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: rt, Timeout: 5 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := c.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile)
			t.Fatalf("apiserver: not ready after 90s (last: %v); log tail:\n%s", err, tail(b, 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// start starts a process logging to logFile and stops it (SIGTERM, then SIGKILL) by PID when t ends.
func start(t testing.TB, logFile, bin string, args ...string) {
	t.Helper()
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := pdeathsig.Start(cmd); err != nil {
		f.Close()
		t.Fatalf("apiserver: start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		f.Close()
	})
}

func binary(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

func apiserverPath() string {
	home := os.Getenv("RUNPLANE_K8S_HOME")
	if home == "" {
		h, _ := os.UserHomeDir()
		home = filepath.Join(h, ".cache", "runplane-k8s")
	}
	return filepath.Join(home, "bin", "kube-apiserver")
}

// freePorts picks n loopback ports that are free now.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func randomHex(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func rsaKeyPEM(t testing.TB) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Eventually waits, up to d, for cond to hold; it fails t with what last said no.
func Eventually(ctx context.Context, t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last error
	for {
		if last = cond(); last == nil {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("condition not met after %v: %v", d, errors.Join(last, ctx.Err()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package helmchart

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/kubesecret"
)

// SecretPassword resolves passwordRef from a Kubernetes Secret, as core-provider does, when the server runs with a
// cluster: passwordRef.name the Secret, .key its key, in the definition's own namespace (a passwordRef naming
// another namespace is refused: a definition's writer chooses where the password is sent, so it must not reach
// Secrets outside the namespace it writes in). Errors name the Secret and key, never the value (kubesecret reads
// it, as it reads GitStateStores' secretRefs).
func SecretPassword(cs kubernetes.Interface) Password {
	secrets := kubesecret.New(cs.CoreV1())
	return func(ctx context.Context, ref api.SecretKeySelector, namespace string) (string, error) {
		if ref.Namespace != "" && ref.Namespace != namespace {
			return "", fmt.Errorf("passwordRef names a Secret in namespace %q: it must be in the definition's namespace %q", ref.Namespace, namespace)
		}
		return secrets.Key(ctx, namespace, ref.Name, ref.Key)
	}
}

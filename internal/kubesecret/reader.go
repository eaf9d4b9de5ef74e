package kubesecret

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// ErrNotFound is wrapped by the errors of a missing Secret or key.
var ErrNotFound = errors.New("kubesecret: not found")

// Reader reads Secrets through client-go, at each call (a Secret changed is read as it is now). It is safe for
// concurrent use.
type Reader struct{ secrets corev1client.SecretsGetter }

// New returns a Reader over secrets (a clientset's CoreV1()).
func New(secrets corev1client.SecretsGetter) Reader { return Reader{secrets: secrets} }

// notFound is the error of something missing: its text is what users see, ErrNotFound is for callers.
type notFound struct{ msg string }

func (e *notFound) Error() string { return e.msg }
func (e *notFound) Unwrap() error { return ErrNotFound }

// Data returns Secret namespace/name's data.
func (r Reader) Data(ctx context.Context, namespace, name string) (map[string][]byte, error) {
	s, err := r.secrets.Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, &notFound{fmt.Sprintf("secret %s/%s not found", namespace, name)}
	}
	if err != nil {
		// client-go's errors carry the request's URL and the server's message, never the Secret's data.
		return nil, fmt.Errorf("read secret %s/%s: %w", namespace, name, err)
	}
	return s.Data, nil
}

// Key returns key of Secret namespace/name.
func (r Reader) Key(ctx context.Context, namespace, name, key string) (string, error) {
	data, err := r.Data(ctx, namespace, name)
	if err != nil {
		return "", err
	}
	v, ok := data[key]
	if !ok {
		return "", MissingKey(namespace, name, key)
	}
	return string(v), nil
}

// MissingKey is the error of Secret namespace/name without key, for callers that read several keys from Data.
func MissingKey(namespace, name, key string) error {
	return &notFound{fmt.Sprintf("secret %s/%s has no key %q", namespace, name, key)}
}

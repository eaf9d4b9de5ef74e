package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/runplane/runplane/api"
)

// Kinds of state store and destination documents: Kratix's manifests unchanged (apiVersion
// platform.kratix.io/v1alpha1, metadata.name, metadata.labels for a destination, spec), runplane's
// DirectoryStateStore (apiVersion platform.runplane.dev/v1alpha1), or the API's flat JSON with a kind.
const (
	kindGitStateStore       = api.KindGitStateStore
	kindDirectoryStateStore = api.KindDirectoryStateStore
	kindDestination         = api.KindDestination
)

// parseStateStoreDoc reads a GitStateStore, DirectoryStateStore or Destination document.
func parseStateStoreDoc(kind string, doc []byte, fields map[string]json.RawMessage) (manifest, error) {
	m := manifest{kind: kind}
	_, hasSpec := fields["spec"]
	_, hasMeta := fields["metadata"]
	var err error
	switch {
	case (hasSpec || hasMeta) && kind == kindDestination:
		m.dest, err = api.DecodeDestinationManifest(doc)
	case hasSpec || hasMeta:
		m.store, err = api.DecodeStateStoreManifest(doc)
	case kind == kindDestination:
		delete(fields, "kind")
		delete(fields, "apiVersion")
		err = strictInto(fields, &m.dest)
		if err == nil {
			err = m.dest.Validate()
		}
	default:
		delete(fields, "apiVersion")
		err = strictInto(fields, &m.store)
		if err == nil {
			err = m.store.Validate()
		}
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), kind) {
			return m, err
		}
		return m, fmt.Errorf("%s: %w", kind, err)
	}
	m.dest.Default()
	m.store.Default()
	return m, nil
}

func strictInto(fields map[string]json.RawMessage, v any) error {
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// storeUnchanged compares a declared state store with the server's masked view. Credentials cannot be compared,
// so a declaration carrying any (other than the mask) always counts as a change.
func storeUnchanged(want, cur api.StateStore) bool {
	if c := want.Credentials; c != nil {
		for _, v := range []string{c.Password, c.Token, c.SSHPrivateKey} {
			if v != "" && v != api.Mask {
				return false
			}
		}
		if cur.Credentials == nil || c.Username != cur.Credentials.Username || c.KnownHosts != cur.Credentials.KnownHosts {
			return false
		}
	}
	want.Credentials = cur.Credentials
	return sameFields(want.Masked(), cur)
}

// sameDestination compares a declared destination, defaults filled in, with the server's.
func sameDestination(want, cur api.Destination) bool {
	want.Default()
	return sameFields(want, cur)
}

package cli

import (
	"io"
	"sort"
	"strings"

	"github.com/runplane/runplane/api"
)

func destinationTable(w io.Writer, ds []api.Destination) {
	row(w, "NAME", "STATESTORE", "PATH", "MODE", "LABELS", "~STRICT", "~CLEANUP")
	for _, d := range ds {
		labels := make([]string, 0, len(d.Labels))
		for k, v := range d.Labels {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		strict := "false"
		if d.StrictMatchLabels {
			strict = "true"
		}
		row(w, d.Name, d.StateStoreRef.Kind+"/"+d.StateStoreRef.Name, cell(d.Path, 40), d.Filepath.Mode,
			cell(strings.Join(labels, ","), 60), strict, d.Cleanup)
	}
}

func stateStoreTable(w io.Writer, ss []api.StateStore) {
	row(w, "NAME", "KIND", "URL", "BRANCH", "PATH", "~AUTH")
	for _, s := range ss {
		url, branch := s.URL, s.Branch
		if s.Kind == api.KindDirectoryStateStore {
			url, branch = "-", "-"
		}
		auth := "-"
		switch {
		case s.Credentials != nil:
			auth = s.AuthMethod + " (credentials)"
		case s.SecretRef != nil:
			auth = s.AuthMethod + " (secret " + s.SecretRef.Namespace + "/" + s.SecretRef.Name + ")"
		}
		row(w, s.Name, s.Kind, cell(url, 60), cell(branch, 30), cell(s.Path, 40), auth)
	}
}

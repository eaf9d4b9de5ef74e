package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"
)

// outputFormats is what -o takes, kubectl's spellings.
const outputFormats = "table, wide, name, json, yaml or jsonpath=TEMPLATE"

// addOutputFlag adds -o/--output with the formats every printing command shares.
func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "table", "output format: "+outputFormats)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "wide", "name", "json", "yaml", "jsonpath="}, cobra.ShellCompDirectiveNoFileComp))
}

// isTable tells whether output is one of the table formats.
func isTable(output string) bool { return output == "table" || output == "wide" }

// checkOutput rejects an unknown -o value, or a jsonpath template that does not parse, before anything is sent.
func checkOutput(cmd *cobra.Command, output string) error {
	switch output {
	case "table", "wide", "name", "json", "yaml":
		return nil
	}
	if tmpl, ok := strings.CutPrefix(output, "jsonpath="); ok {
		if _, err := parseJSONPath(tmpl); err != nil {
			return usage(cmd, "-o jsonpath: %v", err)
		}
		return nil
	}
	return usage(cmd, "unknown output format %q: want %s", output, outputFormats)
}

// parseJSONPath parses a kubectl-style template such as {.items[*].name} (the braces may be left out).
func parseJSONPath(tmpl string) (*jsonpath.JSONPath, error) {
	if !strings.Contains(tmpl, "{") {
		tmpl = "{" + tmpl + "}"
	}
	jp := jsonpath.New("output").AllowMissingKeys(true)
	if err := jp.Parse(tmpl); err != nil {
		return nil, err
	}
	return jp, nil
}

// print writes v as JSON, YAML, names or a jsonpath template's result, or calls table with a writer for the table
// formats. A table's header cells that start with "~" are columns only -o wide shows.
func (a *app) print(cmd *cobra.Command, output string, v any, table func(w io.Writer)) error {
	if err := checkOutput(cmd, output); err != nil {
		return err
	}
	switch {
	case output == "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", b)
		return err
	case output == "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(b)
		return err
	case output == "name":
		return a.printNames(v)
	case strings.HasPrefix(output, "jsonpath="):
		return a.printJSONPath(strings.TrimPrefix(output, "jsonpath="), v)
	}
	if table == nil {
		return a.print(cmd, "yaml", v, nil)
	}
	var buf bytes.Buffer
	table(&buf)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 3, ' ', 0)
	writeColumns(tw, buf.String(), output == "wide")
	return tw.Flush()
}

// writeColumns writes the tab-separated lines of a table, keeping the wide-only columns (header "~NAME") and
// stripping their mark when wide, dropping them otherwise.
func writeColumns(w io.Writer, table string, wide bool) {
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return
	}
	header := strings.Split(lines[0], "\t")
	keep := make([]bool, len(header))
	for i, h := range header {
		keep[i] = wide || !strings.HasPrefix(h, "~")
		header[i] = strings.TrimPrefix(h, "~")
	}
	lines[0] = strings.Join(header, "\t")
	for _, line := range lines {
		cells := strings.Split(line, "\t")
		out := cells[:0]
		for i, c := range cells {
			if i >= len(keep) || keep[i] {
				out = append(out, c)
			}
		}
		fmt.Fprintln(w, strings.Join(out, "\t"))
	}
}

// printNames writes kind/name for each object in v (an object or a list of them), as kubectl -o name does.
func (a *app) printNames(v any) error {
	rv := reflect.ValueOf(v)
	items := []reflect.Value{rv}
	if rv.Kind() == reflect.Slice {
		items = items[:0]
		for i := 0; i < rv.Len(); i++ {
			items = append(items, rv.Index(i))
		}
	}
	for _, it := range items {
		b, err := json.Marshal(it.Interface())
		if err != nil {
			return err
		}
		var fields map[string]any
		if err := json.Unmarshal(b, &fields); err != nil {
			return fmt.Errorf("-o name: %s has no name", it.Type().Name())
		}
		name := ""
		for _, k := range []string{"name", "username", "id"} {
			if s, ok := fields[k].(string); ok && s != "" {
				name = s
				break
			}
		}
		fmt.Fprintf(a.stdout, "%s/%s\n", kindOf(it.Type()), name)
	}
	return nil
}

// kindOf names an api type the way the CLI's commands do: task, runner, rolebinding, token, ...
func kindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n := strings.ToLower(t.Name()); n {
	case "apitoken":
		return "token"
	case "jobcreated":
		return "job"
	default:
		return n
	}
}

// printJSONPath writes the template's result for v; a list is presented as {"items": [...]}, as kubectl does.
func (a *app) printJSONPath(tmpl string, v any) error {
	jp, err := parseJSONPath(tmpl)
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var data any
	if err := json.Unmarshal(b, &data); err != nil {
		return err
	}
	if list, ok := data.([]any); ok {
		data = map[string]any{"items": list}
	}
	var buf bytes.Buffer
	if err := jp.Execute(&buf, data); err != nil {
		return fmt.Errorf("-o jsonpath: %w", err)
	}
	if buf.Len() > 0 && !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
		buf.WriteByte('\n')
	}
	_, err = a.stdout.Write(buf.Bytes())
	return err
}

// row writes tab-separated cells and a newline.
func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

// cell makes a value fit one table cell: first line only, at most max runes, "-" for empty.
func cell(s string, max int) string {
	if s == "" {
		return "-"
	}
	cut := false
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s, cut = s[:i], true
	}
	if r := []rune(s); len(r) > max {
		s, cut = string(r[:max]), true
	}
	if cut {
		s += "..."
	}
	return strings.ReplaceAll(s, "\t", " ")
}

// age formats how long ago t was, the way kubectl's AGE column does.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < 2*time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

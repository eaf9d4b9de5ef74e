package ldap

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// groupMap is Config.GroupMap with normalized keys: full DNs in byDN, bare CNs in byCN.
type groupMap struct {
	byDN map[string]string
	byCN map[string]string
}

func newGroupMap(m map[string]string) (groupMap, error) {
	gm := groupMap{byDN: map[string]string{}, byCN: map[string]string{}}
	var errs []error
	// Sorted so that the error for two keys meaning the same group is the same on every run.
	for _, key := range slices.Sorted(maps.Keys(m)) {
		name := m[key]
		if strings.TrimSpace(name) == "" {
			errs = append(errs, fmt.Errorf("ldap: GroupMap[%q]: runplane group name is empty", key))
			continue
		}
		norm, isDN, err := normalizeGroupKey(key)
		if err != nil {
			errs = append(errs, fmt.Errorf("ldap: GroupMap key %q: %v", key, err))
			continue
		}
		target := gm.byCN
		if isDN {
			target = gm.byDN
		}
		if prev, ok := target[norm]; ok && prev != name {
			errs = append(errs, fmt.Errorf("ldap: GroupMap key %q names the same directory group as another key "+
				"mapped to %q", key, prev))
			continue
		}
		target[norm] = name
	}
	return gm, errors.Join(errs...)
}

// normalizeGroupKey normalizes a GroupMap key: a DN when it contains "=", else a bare CN.
func normalizeGroupKey(key string) (norm string, isDN bool, err error) {
	if strings.Contains(key, "=") {
		norm, err = normalizeDN(key)
		return norm, true, err
	}
	norm = foldValue(key)
	if norm == "" {
		return "", false, errors.New("empty")
	}
	return norm, false, nil
}

// attrTypeRE is an attribute type as RFC 4512 spells it: a name (keystring) or a numeric OID.
var attrTypeRE = regexp.MustCompile(`^(?:[a-z][a-z0-9-]*|[0-9]+(?:\.[0-9]+)*)$`)

// normalizeDN gives equal strings for DNs that differ only in case, spaces around separators, runs of spaces
// inside values, escaping style, or the order of a multi-valued RDN's parts.
func normalizeDN(dn string) (string, error) {
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		return "", err
	}
	if len(parsed.RDNs) == 0 {
		return "", errors.New("empty DN")
	}
	rdns := make([]string, 0, len(parsed.RDNs))
	for _, rdn := range parsed.RDNs {
		parts := make([]string, 0, len(rdn.Attributes))
		for _, a := range rdn.Attributes {
			typ := strings.ToLower(strings.TrimSpace(a.Type))
			if !attrTypeRE.MatchString(typ) {
				return "", fmt.Errorf("attribute type %q is neither a name nor an OID", a.Type)
			}
			parts = append(parts, typ+"="+goldap.EscapeDN(foldValue(a.Value)))
		}
		slices.Sort(parts)
		rdns = append(rdns, strings.Join(parts, "+"))
	}
	return strings.Join(rdns, ","), nil
}

// foldValue compares values the way caseIgnoreMatch does, near enough: case-folded, outer spaces dropped,
// inner runs of spaces made one.
func foldValue(v string) string {
	return strings.ToLower(strings.Join(strings.Fields(v), " "))
}

// firstCN is the value of dn's first RDN when that RDN is a single cn, folded; "" otherwise.
func firstCN(dn string) string {
	parsed, err := goldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) != 1 {
		return ""
	}
	a := parsed.RDNs[0].Attributes[0]
	if !strings.EqualFold(strings.TrimSpace(a.Type), "cn") {
		return ""
	}
	return foldValue(a.Value)
}

// runplaneGroups maps the directory group DNs to runplane group names, deduplicated and sorted.
func (m groupMap) runplaneGroups(groupDNs []string) []string {
	set := map[string]bool{}
	for _, dn := range groupDNs {
		if norm, err := normalizeDN(dn); err == nil {
			if name, ok := m.byDN[norm]; ok {
				set[name] = true
			}
		}
		if cn := firstCN(dn); cn != "" {
			if name, ok := m.byCN[cn]; ok {
				set[name] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

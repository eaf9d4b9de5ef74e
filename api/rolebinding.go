package api

import "time"

// RoleBinding grants a role to a group. A request names the role and group either by id (role_id, group_id) or in
// Kriten's older form (role_name, subject_kind "groups", subject_provider, subject_name); answers carry both.
type RoleBinding struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	RoleID  string `json:"role_id"`
	GroupID string `json:"group_id"`

	RoleName        string `json:"role_name,omitempty"`
	SubjectKind     string `json:"subject_kind,omitempty"`
	SubjectProvider string `json:"subject_provider,omitempty"`
	SubjectName     string `json:"subject_name,omitempty"`
	SubjectID       string `json:"subject_id,omitempty"`

	Builtin    bool      `json:"builtin,omitempty"`
	CreateTime time.Time `json:"created_at"`
	UpdateTime time.Time `json:"updated_at"`
}

// SubjectKindGroups is the only subject kind: roles are bound to groups.
const SubjectKindGroups = "groups"

// Validate checks a binding, without a store: a name, a role (by id or name) and a group (by id, or by provider and
// name).
func (b *RoleBinding) Validate() error {
	if b.Name == "" {
		return Invalidf("name is required")
	}
	if err := validateLabel("name", b.Name, 256); err != nil {
		return err
	}
	if b.RoleID == "" && b.RoleName == "" {
		return Invalidf("role_id or role_name is required")
	}
	if b.SubjectKind != "" && b.SubjectKind != SubjectKindGroups {
		return Invalidf("subject_kind %q: roles are bound to %q", b.SubjectKind, SubjectKindGroups)
	}
	if b.GroupID == "" {
		if b.SubjectName == "" {
			return Invalidf("group_id, or subject_provider and subject_name, is required")
		}
		if err := ValidateProvider(b.SubjectProvider); err != nil {
			return err
		}
	}
	return nil
}

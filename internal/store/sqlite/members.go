package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Group membership, written from either side: a user's groups (CreateUser, SetUserGroups) or a group's members
// (CreateGroup, UpdateGroup). A user and a group of different providers never meet: a directory group holds
// directory users only, so that a local account cannot be slipped into a directory-managed group.

const (
	memberGroup        = `SELECT name, provider FROM groups WHERE id = ?`
	memberUser         = `SELECT username, provider FROM users WHERE id = ?`
	insertMember       = `INSERT INTO group_members (group_id, user_id) VALUES (?, ?)`
	deleteUserMembers  = `DELETE FROM group_members WHERE user_id = ?`
	deleteGroupMembers = `DELETE FROM group_members WHERE group_id = ?`
)

// setUserGroups makes the user userID (named username, of provider) a member of exactly groupIDs, which must be
// sorted and free of duplicates; ErrInvalid if one does not exist or belongs to another provider.
func (t *wtx) setUserGroups(userID, username, provider string, groupIDs []string) error {
	for _, id := range groupIDs {
		var name, p string
		err := t.queryRow(memberGroup, id).Scan(&name, &p)
		if errors.Is(err, sql.ErrNoRows) {
			return invalidf("group %q does not exist", id)
		}
		if err != nil {
			return err
		}
		if p != provider {
			return invalidf("user %q of provider %q cannot join group %q of provider %q", username, provider, name, p)
		}
	}
	if _, err := t.exec(deleteUserMembers, userID); err != nil {
		return err
	}
	for _, id := range groupIDs {
		if _, err := t.exec(insertMember, id, userID); err != nil {
			return err
		}
	}
	return nil
}

// setGroupMembers makes userIDs, sorted and free of duplicates, the members of the group groupID (named name, of
// provider); ErrInvalid if a user does not exist or belongs to another provider.
func (t *wtx) setGroupMembers(groupID, name, provider string, userIDs []string) error {
	for _, id := range userIDs {
		var username, p string
		err := t.queryRow(memberUser, id).Scan(&username, &p)
		if errors.Is(err, sql.ErrNoRows) {
			return invalidf("user %q does not exist", id)
		}
		if err != nil {
			return err
		}
		if p != provider {
			return invalidf("user %q of provider %q cannot join group %q of provider %q", username, p, name, provider)
		}
	}
	if _, err := t.exec(deleteGroupMembers, groupID); err != nil {
		return err
	}
	for _, id := range userIDs {
		if _, err := t.exec(insertMember, groupID, id); err != nil {
			return err
		}
	}
	return nil
}

// idSet returns ids sorted, without duplicates, and never nil: a list of ids as the store returns it.
func idSet(ids []string) []string {
	s := slices.Clone(ids)
	if s == nil {
		s = []string{}
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// decodeIDs reads a JSON array of strings (json_group_array's, or a column's); never nil.
func decodeIDs(what, s string) ([]string, error) {
	ids := []string{}
	if err := json.Unmarshal([]byte(s), &ids); err != nil {
		return nil, fmt.Errorf("decode %s: %w", what, err)
	}
	if ids == nil { // the text was null
		ids = []string{}
	}
	return ids, nil
}

// encodeIDs writes ids as a JSON array, [] when there are none.
func encodeIDs(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids) // a []string always encodes
	return string(b)
}

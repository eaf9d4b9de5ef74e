package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Group membership, written from either side: a user's groups (CreateUser, SetUserGroups) or a group's members
// (CreateGroup, UpdateGroup). A user and a group of different providers never meet: a directory group holds
// directory users only, so that a local account cannot be slipped into a directory-managed group. Both run in a
// transaction holding catalogLock, so what they check stays true until they commit.

const (
	memberGroup = `SELECT name, provider FROM groups WHERE id = $1`
	memberUser  = `SELECT username, provider FROM users WHERE id = $1`
	// Rows in one statement: unnest pairs the id with each of the array's elements.
	insertMembers = `INSERT INTO group_members (group_id, user_id) SELECT g, u FROM unnest($1::text[], $2::text[]) AS m (g, u)`
)

// setUserGroups makes the user userID (named username, of provider) a member of exactly groupIDs, which must be
// sorted and free of duplicates; ErrInvalid if one does not exist or belongs to another provider.
func setUserGroups(ctx context.Context, tx pgx.Tx, userID, username, provider string, groupIDs []string) error {
	for _, id := range groupIDs {
		var name, p string
		err := tx.QueryRow(ctx, memberGroup, id).Scan(&name, &p)
		if missing(err) {
			return invalidf("group %q does not exist", id)
		}
		if err != nil {
			return err
		}
		if p != provider {
			return invalidf("user %q of provider %q cannot join group %q of provider %q", username, provider, name, p)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM group_members WHERE user_id = $1`, userID); err != nil {
		return err
	}
	if len(groupIDs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, insertMembers, groupIDs, repeat(userID, len(groupIDs)))
	return err
}

// setGroupMembers makes userIDs, sorted and free of duplicates, the members of the group groupID (named name, of
// provider); ErrInvalid if a user does not exist or belongs to another provider.
func setGroupMembers(ctx context.Context, tx pgx.Tx, groupID, name, provider string, userIDs []string) error {
	for _, id := range userIDs {
		var username, p string
		err := tx.QueryRow(ctx, memberUser, id).Scan(&username, &p)
		if missing(err) {
			return invalidf("user %q does not exist", id)
		}
		if err != nil {
			return err
		}
		if p != provider {
			return invalidf("user %q of provider %q cannot join group %q of provider %q", username, p, name, provider)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM group_members WHERE group_id = $1`, groupID); err != nil {
		return err
	}
	if len(userIDs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, insertMembers, repeat(groupID, len(userIDs)), userIDs)
	return err
}

func repeat(s string, n int) []string { return slices.Repeat([]string{s}, n) }

// idSet returns ids sorted, without duplicates, and never nil: a list of ids as the store returns it.
func idSet(ids []string) []string {
	s := slices.Clone(ids)
	if s == nil {
		s = []string{}
	}
	slices.Sort(s)
	return slices.Compact(s)
}

package outbox_test

import (
	"testing"

	"github.com/runplane/runplane/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

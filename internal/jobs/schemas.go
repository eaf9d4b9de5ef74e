package jobs

import (
	"sync"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/schema"
)

// schemaCache keeps compiled task schemas keyed by their text, so a hot task compiles once and an edited task
// recompiles on its next submission.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]*schema.Schema
}

const maxCachedSchemas = 1024

func (c *schemaCache) validate(t api.Task, input []byte) error {
	if len(t.Schema) == 0 || string(t.Schema) == "null" {
		return nil
	}
	key := string(t.Schema)
	c.mu.Lock()
	s, ok := c.m[key]
	c.mu.Unlock()
	if !ok {
		var err error
		if s, err = schema.Compile(t.Schema); err != nil {
			return err
		}
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxCachedSchemas {
			c.m = make(map[string]*schema.Schema)
		}
		c.m[key] = s
		c.mu.Unlock()
	}
	return s.Validate(input)
}

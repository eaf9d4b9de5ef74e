package statestore

import (
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// overlay is an object store that keeps new objects in memory above a base it reads through: a commit is built
// in it, and what it added is exactly what a push must send.
type overlay struct {
	storer.EncodedObjectStorer // the base
	objs                       map[plumbing.Hash]plumbing.EncodedObject
	added                      []plumbing.Hash
}

func newOverlay(base storer.EncodedObjectStorer) *overlay {
	return &overlay{EncodedObjectStorer: base, objs: map[plumbing.Hash]plumbing.EncodedObject{}}
}

func (o *overlay) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

func (o *overlay) SetEncodedObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	h := obj.Hash()
	if _, ok := o.objs[h]; !ok {
		o.objs[h] = obj
		o.added = append(o.added, h)
	}
	return h, nil
}

func (o *overlay) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if obj, ok := o.objs[h]; ok && (t == plumbing.AnyObject || obj.Type() == t) {
		return obj, nil
	}
	return o.EncodedObjectStorer.EncodedObject(t, h)
}

func (o *overlay) HasEncodedObject(h plumbing.Hash) error {
	if _, ok := o.objs[h]; ok {
		return nil
	}
	return o.EncodedObjectStorer.HasEncodedObject(h)
}

func (o *overlay) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	if obj, ok := o.objs[h]; ok {
		return obj.Size(), nil
	}
	return o.EncodedObjectStorer.EncodedObjectSize(h)
}

// flush writes the added objects into st (the base, or the remote's store) and forgets them.
func (o *overlay) flush(st storer.EncodedObjectStorer) error {
	for _, h := range o.added {
		if st.HasEncodedObject(h) == nil {
			continue
		}
		if _, err := st.SetEncodedObject(o.objs[h]); err != nil {
			return err
		}
	}
	o.reset()
	return nil
}

func (o *overlay) reset() {
	clear(o.objs)
	o.added = o.added[:0]
}

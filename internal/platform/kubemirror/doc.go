// Package kubemirror serves runplane's platform resources as Kubernetes objects: Kratix's Promise, Destination
// and GitStateStore (platform.kratix.io/v1alpha1), runplane's DirectoryStateStore (platform.runplane.dev/v1alpha1),
// the kind of every promise's API, Krateo's CompositionDefinition (core.krateo.io/v1alpha1) and the type each one
// generates (composition.krateo.io), whose objects are compositions (Helm releases). The cluster is a second door into the same resources, not a second
// engine: the mirror watches the cluster (dynamic informers) and writes what it sees into runplane's store through
// the REST API itself, in process, as the server's service identity — so an object applied with kubectl is
// validated, authorized, audited and handed to the promise controller by the very code that serves the API — and
// it writes what the store holds (objects created through the REST API, and every status) back to the cluster.
//
// Who owns what:
//
//   - status is runplane's. The store's status is copied to the status subresource; what a client writes there is
//     overwritten. The mirror adds one condition of its own, Accepted=False, when the REST API refused the object
//     (reason Invalid, with the API's message naming the field; the object stays and is tried again when its
//     generation changes; reason Conflict, such as a promise not yet available, is tried again with backoff and
//     when its promise changes).
//   - spec, labels and annotations belong to whichever door wrote them last. The annotation
//     platform.runplane.dev/mirrored records the digests of both sides when they were last brought into step: a
//     side whose digest moved since changed, and is copied to the other; if both moved, the cluster wins (GitOps
//     tools write there). Writes to the store carry the store's version, and writes to the cluster its
//     resourceVersion, so a write that raced another is refused and decided again on the next pass: nothing is
//     lost and nothing ping-pongs (a copy makes both digests match the marker). The annotation
//     kubectl.kubernetes.io/last-applied-configuration and the marker stay in the cluster only.
//   - existence: an object in the cluster without the marker and absent from the store was created there and is
//     created in the store; with the marker, it was deleted through the REST API and is removed from the cluster.
//     An object in the store and absent from the cluster is created there (so a CRD reinstalled, or a finalizer
//     removed by hand, heals).
//   - deletion: cluster objects carry the finalizer platform.runplane.dev/mirror. Deleting one in the cluster
//     deletes it through the REST API, which runs its delete workflow first; the finalizer goes when the store no
//     longer has it. A failed delete workflow shows in the object's status (copied from the store) and is retried
//     by the REST API's retry route or by labelling the object kratix.io/manual-reconciliation=true.
//   - Kratix's labels: kratix.io/paused is an ordinary label, copied to the store, where the controller honours it;
//     kratix.io/manual-reconciliation=true asks the REST API to reconcile (or, while deleting, retry) and is
//     removed by the mirror once asked.
//   - a promise's API: the CRD in spec.api is applied (server-side, field manager runplane, labelled
//     platform.runplane.dev/promise) with a status subresource whose schema keeps every field, its storage version
//     watched, and the CRD deleted when the promise is gone from the store.
//   - a composition type: the CRD a definition generated (chart/crd.go; one version per chart version, storage
//     version vacuum) is applied, labelled platform.runplane.dev/composition-resource, when the store holds it and
//     again when a chart version is added; deleted when no definition generates it. Its versions share their
//     objects (conversion None), so the API server shows each composition at whatever version it is asked: the
//     mirror reads and writes each at its own (label krateo.io/composition-version, else the apiVersion kubectl
//     applied, else the newest other writer's), and a relabel moves the composition (its release upgrades). A
//     composition's delete waits behind the finalizer for its uninstall; krateo.io/paused is an annotation like
//     any, copied to the store, where the composer honours it.
//
// The mirror is level-based and keyed: one worker takes object references (kind, promise, namespace, name) from a
// rate-limited work queue (client-go's workqueue: each key once in the queue, a failed key retried with backoff up
// to 30 s) and compares that one object's two sides. Keys come from the cluster's watches (every event names its
// object), from runplane's store (Notifying: the REST API and the promise controller write through a store that
// tells the mirror each key they changed), and from a resync every few minutes that queues every key of both
// sides (catching what no one said). Nothing it needs is held only in memory, so a restart resumes: the first
// resync queues everything. It never writes the store directly, and it never runs a pipeline.
package kubemirror

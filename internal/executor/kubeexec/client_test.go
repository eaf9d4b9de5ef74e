package kubeexec_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/runplane/runplane/internal/executor/kubeexec"
)

// request is what an API server sees of one request.
type request struct {
	Method, Path, Query, ContentType, Accept, UserAgent string
	Body                                                []byte
}

// apiRecorder is an HTTP server that records requests and answers each with a plausible object of its kind,
// encoded as an API server would (protobuf when accepted), so that two clients can be compared request by request
// and answer by answer. It is no cluster: it keeps nothing.
type apiRecorder struct {
	mu   sync.Mutex
	reqs []request
}

var kinds = map[string]schema.GroupVersionKind{ // by plural
	"jobs":    batchv1.SchemeGroupVersion.WithKind("Job"),
	"pods":    corev1.SchemeGroupVersion.WithKind("Pod"),
	"secrets": corev1.SchemeGroupVersion.WithKind("Secret"),
	"events":  corev1.SchemeGroupVersion.WithKind("Event"),
}

func (a *apiRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.reqs = append(a.reqs, request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Accept"), r.Header.Get("User-Agent"), body})
	a.mu.Unlock()
	// /api/v1/namespaces/NS/PLURAL[/NAME[/SUB]] or /apis/GROUP/v1/namespaces/...
	_, rest, _ := strings.Cut(r.URL.Path, "/namespaces/")
	parts := strings.Split(rest, "/")
	ns, gvk := parts[0], kinds[parts[1]]
	// Answer as an API server does: protobuf when the client accepts it (both clients prefer it), else JSON.
	mediaType := runtime.ContentTypeJSON
	if strings.Contains(r.Header.Get("Accept"), runtime.ContentTypeProtobuf) {
		mediaType = runtime.ContentTypeProtobuf
	}
	info, _ := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), mediaType)
	enc := scheme.Codecs.EncoderForVersion(info.Serializer, gvk.GroupVersion())
	object := func(name string) runtime.Object {
		obj, _ := scheme.Scheme.New(gvk)
		m, _ := meta.Accessor(obj)
		m.SetName(name)
		m.SetNamespace(ns)
		m.SetUID("u-1")
		m.SetResourceVersion("7")
		m.SetLabels(map[string]string{"a": "b"})
		return obj
	}
	var answer runtime.Object
	code := http.StatusOK
	switch {
	case len(parts) > 2 && parts[2] == "missing":
		code = http.StatusNotFound
		answer = &metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: 404,
			Message: parts[1] + ` "missing" not found`, Details: &metav1.StatusDetails{Name: "missing", Kind: parts[1]}}
	case len(parts) > 3 && parts[3] == "log":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "the log\n")
		return
	case r.URL.Query().Get("watch") == "true":
		w.Header().Set("Content-Type", mediaType)
		raw, err := runtime.Encode(enc, object("watched"))
		if err != nil {
			panic(err)
		}
		fw := info.StreamSerializer.Framer.NewFrameWriter(w)
		evEnc := streaming.NewEncoder(fw, scheme.Codecs.EncoderForVersion(info.StreamSerializer.Serializer, gvk.GroupVersion()))
		if err := evEnc.Encode(&metav1.WatchEvent{Type: string(watch.Added), Object: runtime.RawExtension{Raw: raw}}); err != nil {
			panic(err)
		}
		return
	case r.Method == http.MethodDelete:
		answer = &metav1.Status{Status: metav1.StatusSuccess}
	case len(parts) == 2 && r.Method == http.MethodGet:
		list, _ := scheme.Scheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		meta.SetList(list, []runtime.Object{object("one")})
		answer = list
	case len(parts) > 2:
		answer = object(parts[2])
	default:
		answer = object("made")
	}
	b, err := runtime.Encode(enc, answer)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(code)
	w.Write(b)
}

// calls are the executor's API calls, made through one of the two clients.
type calls struct {
	createJob    func(context.Context, *batchv1.Job) (any, error)
	getJob       func(context.Context, string) (any, error)
	listJobs     func(context.Context, metav1.ListOptions) (any, error)
	watchPods    func(context.Context, metav1.ListOptions) (any, error)
	deleteJob    func(context.Context, string, metav1.DeleteOptions) error
	createSecret func(context.Context, *corev1.Secret) (any, error)
	patchSecret  func(context.Context, string, []byte) (any, error)
	deleteSecret func(context.Context, string) error
	deletePod    func(context.Context, string, metav1.DeleteOptions) error
	listEvents   func(context.Context, metav1.ListOptions) (any, error)
	logs         func(context.Context, string, *corev1.PodLogOptions) (any, error)
}

func clientsetCalls(c kubernetes.Interface, ns string) calls {
	return calls{
		createJob: func(ctx context.Context, j *batchv1.Job) (any, error) {
			return c.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{})
		},
		getJob: func(ctx context.Context, n string) (any, error) {
			return c.BatchV1().Jobs(ns).Get(ctx, n, metav1.GetOptions{})
		},
		listJobs: func(ctx context.Context, o metav1.ListOptions) (any, error) {
			return c.BatchV1().Jobs(ns).List(ctx, o)
		},
		watchPods: func(ctx context.Context, o metav1.ListOptions) (any, error) {
			w, err := c.CoreV1().Pods(ns).Watch(ctx, o)
			return firstEvent(w, err)
		},
		deleteJob: func(ctx context.Context, n string, o metav1.DeleteOptions) error {
			return c.BatchV1().Jobs(ns).Delete(ctx, n, o)
		},
		createSecret: func(ctx context.Context, s *corev1.Secret) (any, error) {
			return c.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{})
		},
		patchSecret: func(ctx context.Context, n string, p []byte) (any, error) {
			return c.CoreV1().Secrets(ns).Patch(ctx, n, types.StrategicMergePatchType, p, metav1.PatchOptions{})
		},
		deleteSecret: func(ctx context.Context, n string) error {
			return c.CoreV1().Secrets(ns).Delete(ctx, n, metav1.DeleteOptions{})
		},
		deletePod: func(ctx context.Context, n string, o metav1.DeleteOptions) error {
			return c.CoreV1().Pods(ns).Delete(ctx, n, o)
		},
		listEvents: func(ctx context.Context, o metav1.ListOptions) (any, error) {
			return c.CoreV1().Events(ns).List(ctx, o)
		},
		logs: func(ctx context.Context, pod string, o *corev1.PodLogOptions) (any, error) {
			return readAll(c.CoreV1().Pods(ns).GetLogs(pod, o).Stream(ctx))
		},
	}
}

func executorCalls(c *kubeexec.Client, ns string) calls {
	return calls{
		createJob: func(ctx context.Context, j *batchv1.Job) (any, error) {
			return c.Jobs(ns).Create(ctx, j, metav1.CreateOptions{})
		},
		getJob: func(ctx context.Context, n string) (any, error) { return c.Jobs(ns).Get(ctx, n, metav1.GetOptions{}) },
		listJobs: func(ctx context.Context, o metav1.ListOptions) (any, error) {
			return c.Jobs(ns).List(ctx, o)
		},
		watchPods: func(ctx context.Context, o metav1.ListOptions) (any, error) {
			w, err := c.Pods(ns).Watch(ctx, o)
			return firstEvent(w, err)
		},
		deleteJob: func(ctx context.Context, n string, o metav1.DeleteOptions) error {
			return c.Jobs(ns).Delete(ctx, n, o)
		},
		createSecret: func(ctx context.Context, s *corev1.Secret) (any, error) {
			return c.Secrets(ns).Create(ctx, s, metav1.CreateOptions{})
		},
		patchSecret: func(ctx context.Context, n string, p []byte) (any, error) {
			return c.Secrets(ns).Patch(ctx, n, types.StrategicMergePatchType, p, metav1.PatchOptions{})
		},
		deleteSecret: func(ctx context.Context, n string) error {
			return c.Secrets(ns).Delete(ctx, n, metav1.DeleteOptions{})
		},
		deletePod: func(ctx context.Context, n string, o metav1.DeleteOptions) error {
			return c.Pods(ns).Delete(ctx, n, o)
		},
		listEvents: func(ctx context.Context, o metav1.ListOptions) (any, error) {
			return c.Events(ns).List(ctx, o)
		},
		logs: func(ctx context.Context, pod string, o *corev1.PodLogOptions) (any, error) {
			return readAll(c.PodLogs(ns, pod, o).Stream(ctx))
		},
	}
}

// firstEvent is the first event of w, described.
func firstEvent(w watch.Interface, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	ev := <-w.ResultChan()
	m, ok := ev.Object.(metav1.Object)
	if !ok {
		return fmt.Sprintf("%s %T", ev.Type, ev.Object), nil
	}
	return fmt.Sprintf("%s %T %s/%s at %s", ev.Type, ev.Object, m.GetNamespace(), m.GetName(), m.GetResourceVersion()), nil
}

func readAll(rc io.ReadCloser, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// TestClientMakesTheClientsetsRequests: the executor's own client, cut down to core/v1 and batch/v1 to keep the
// whole clientset out of runplane's build, sends what client-go's clientset sends for each call the executor
// makes (paths, query, content types, bodies) and reads the answers, errors included, the same way.
func TestClientMakesTheClientsetsRequests(t *testing.T) {
	ctx := t.Context()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "rp-x", Labels: map[string]string{"app.kubernetes.io/managed-by": "runplane", "b": "c"}},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), TTLSecondsAfterFinished: ptr.To[int32](300)},
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "rp-x"}, Data: map[string][]byte{"token": []byte("s3cret"), "a": nil}}
	managed := metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=runplane", ResourceVersion: "5", TimeoutSeconds: ptr.To[int64](30)}
	warnings := metav1.ListOptions{FieldSelector: fields.Set{"involvedObject.kind": "Job", "involvedObject.name": "rp-x", "type": corev1.EventTypeWarning}.String()}
	cases := []struct {
		name string
		call func(calls) (any, error)
	}{
		{"create a Job", func(c calls) (any, error) { return c.createJob(ctx, job) }},
		{"get a Job", func(c calls) (any, error) { return c.getJob(ctx, "rp-x") }},
		{"get a missing Job", func(c calls) (any, error) { return c.getJob(ctx, "missing") }},
		{"list the managed Jobs", func(c calls) (any, error) { return c.listJobs(ctx, managed) }},
		{"watch the managed Pods", func(c calls) (any, error) { return c.watchPods(ctx, managed) }},
		{"delete a Job and its pods in the background", func(c calls) (any, error) {
			return nil, c.deleteJob(ctx, "rp-x", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
		}},
		{"delete a missing Job", func(c calls) (any, error) { return nil, c.deleteJob(ctx, "missing", metav1.DeleteOptions{}) }},
		{"create a Secret", func(c calls) (any, error) { return c.createSecret(ctx, secret) }},
		{"give a Secret to its Job", func(c calls) (any, error) {
			return c.patchSecret(ctx, "rp-x", []byte(`{"metadata":{"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"rp-x","uid":"u-1","controller":true}]}}`))
		}},
		{"delete a Secret", func(c calls) (any, error) { return nil, c.deleteSecret(ctx, "rp-x") }},
		{"delete a missing Secret", func(c calls) (any, error) { return nil, c.deleteSecret(ctx, "missing") }},
		{"delete a pod with grace", func(c calls) (any, error) {
			return nil, c.deletePod(ctx, "rp-x-abcde", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](10)})
		}},
		{"list a Job's warnings", func(c calls) (any, error) { return c.listEvents(ctx, warnings) }},
		{"follow a pod's log", func(c calls) (any, error) {
			return c.logs(ctx, "rp-x-abcde", &corev1.PodLogOptions{Container: "job", Follow: true})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantReqs, want := record(t, tc.call, func(rc *rest.Config) (calls, error) {
				cs, err := kubernetes.NewForConfig(rc)
				if err != nil {
					return calls{}, err
				}
				return clientsetCalls(cs, "ns"), nil
			})
			gotReqs, got := record(t, tc.call, func(rc *rest.Config) (calls, error) {
				c, err := kubeexec.NewClient(rc)
				if err != nil {
					return calls{}, err
				}
				return executorCalls(c, "ns"), nil
			})
			if len(wantReqs) == 0 {
				t.Fatal("the clientset sent no request")
			}
			if diff := cmp.Diff(wantReqs, gotReqs); diff != "" {
				t.Errorf("requests differ from the clientset's (-clientset +kubeexec):\n%s", diff)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("outcome differs from the clientset's (-clientset +kubeexec):\n%s", diff)
			}
		})
	}
}

// record makes call through the client newCalls builds for a fresh apiRecorder, and returns the requests it sent
// and its outcome: the answer's type and JSON, the error and whether it is NotFound.
func record(t *testing.T, call func(calls) (any, error), newCalls func(*rest.Config) (calls, error)) ([]request, string) {
	t.Helper()
	rec := &apiRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := newCalls(&rest.Config{Host: srv.URL, UserAgent: "runplane-test"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := call(c)
	b, _ := json.Marshal(res)
	out := fmt.Sprintf("%T %s; err %v; not found %v", res, b, err, apierrors.IsNotFound(err))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.reqs, out
}

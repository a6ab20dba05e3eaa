// Package manifests checks the Kubernetes manifests in deploy/kubernetes
// without a cluster: every document of every .yaml file there is decoded
// strictly into its typed object from k8s.io/api (an unknown, misspelt or
// duplicate field is an error, as the API server's strict field
// validation would say), and the pods that run pinbench must keep the
// promises deploy/README.md makes:
//
//   - Guaranteed QoS: every container, init containers too, has CPU and
//     memory requests equal to its limits; the container that runs
//     `pinbench tune` asks for an integer CPU count of at least two, which
//     the kubelet's static CPU manager turns into CPUs of its own;
//   - no privilege: not privileged, no privilege escalation, a non-root
//     user, a read-only root file system, every capability dropped and
//     none added beyond documentedCaps, the runtime's seccomp profile, no
//     host namespaces or host paths;
//   - the run is kept: the command is `/pinbench tune`, the folder it
//     writes (results/ in its working folder, or --out) is a writable
//     mount of a PersistentVolumeClaim that the manifests define, and
//     TMPDIR is a writable emptyDir;
//   - a Job picks its node type (a nodeSelector or required node
//     affinity) and is not retried; a DaemonSet runs pinbench in an init
//     container (its pods would restart a finished run) and picks its
//     node types by required node affinity;
//   - the image the manifests name agrees with deploy/container/Dockerfile
//     (the binary's path, the working folder, the user).
//
// TestChecksCatch feeds each check a manifest broken in the way it
// guards against, so that no check passes by looking at nothing.
package manifests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// manifestDir holds the manifests; dockerfile is the image they run.
const (
	manifestDir = ".."
	dockerfile  = "../../container/Dockerfile"
	namespace   = "pinbench"
)

// documentedCaps are the capabilities a pinbench container may add, as
// deploy/README.md documents: CAP_PERFMON, for perf_event_open's
// software counters where the seccomp profile or
// kernel.perf_event_paranoid refuses them otherwise. The shipped
// manifests add none.
var documentedCaps = []corev1.Capability{"PERFMON"}

// doc is one decoded document of a manifest file.
type doc struct {
	where string // file:document
	obj   any    // *corev1.Namespace, *batchv1.Job, ...
}

// decodeAll splits a file's YAML stream into documents and decodes each
// strictly.
func decodeAll(name string, data []byte) ([]doc, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []doc
	for i := 1; ; i++ {
		raw, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %v", name, i, err)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, i)
		obj, err := decodeStrict(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		docs = append(docs, doc{where, obj})
	}
	return docs, nil
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(out, l...)
			out = append(out, '\n')
		}
	}
	return out
}

// decodeStrict decodes one YAML document into the typed object its
// apiVersion and kind name. Duplicate keys, unknown fields and fields
// spelt in another case are errors (sigs.k8s.io/json is case-sensitive,
// as the API server is; encoding/json would take "NodeSelector").
func decodeStrict(raw []byte) (any, error) {
	js, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, err
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		obj = new(corev1.Namespace)
	case "v1 PersistentVolumeClaim":
		obj = new(corev1.PersistentVolumeClaim)
	case "v1 Pod":
		obj = new(corev1.Pod)
	case "batch/v1 Job":
		obj = new(batchv1.Job)
	case "apps/v1 DaemonSet":
		obj = new(appsv1.DaemonSet)
	default:
		return nil, fmt.Errorf("apiVersion %q kind %q: not a kind these manifests use (Namespace, PersistentVolumeClaim, Pod, Job, DaemonSet)", tm.APIVersion, tm.Kind)
	}
	strict, err := sigsjson.UnmarshalStrict(js, obj, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", tm.Kind, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s: %v", tm.Kind, errors.Join(strict...))
	}
	return obj, nil
}

// image is what the manifests need to know of deploy/container/Dockerfile.
type image struct {
	binary  string // the path the final stage copies the binary to
	workdir string
	user    string // USER, uid:gid
}

func readDockerfile(t *testing.T) image {
	t.Helper()
	data, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var im image
	final := false
	var copied []string // the final stage's COPY destinations
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			final = f[1] == "scratch"
			copied = nil
		case "COPY":
			if final && slices.Contains(f, "--from=build") {
				copied = append(copied, f[len(f)-1])
			}
		case "ENTRYPOINT":
			var argv []string
			if err := json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(l, f[0]))), &argv); err == nil && len(argv) > 0 && final {
				im.binary = argv[0]
			}
		case "WORKDIR":
			if final {
				im.workdir = f[1]
			}
		case "USER":
			if final {
				im.user = f[1]
			}
		}
	}
	if !final {
		t.Fatalf("%s: the last stage is not FROM scratch", dockerfile)
	}
	if im.binary == "" || im.workdir == "" || im.user == "" {
		t.Fatalf("%s: want the final stage to set ENTRYPOINT [\"/path/pinbench\"], WORKDIR and USER; found %+v", dockerfile, im)
	}
	if path.Base(im.binary) != "pinbench" || !slices.Contains(copied, im.binary) {
		t.Fatalf("%s: the entry point %s is not the pinbench binary that the final stage copies from the build stage (it copies %q)", dockerfile, im.binary, copied)
	}
	return im
}

// set is everything decoded, by kind, for the checks that look across
// documents (a claim that a pod mounts).
type set struct {
	docs   []doc
	claims map[string]*corev1.PersistentVolumeClaim
}

func newSet(docs []doc) *set {
	s := &set{docs: docs, claims: map[string]*corev1.PersistentVolumeClaim{}}
	for _, d := range docs {
		if c, ok := d.obj.(*corev1.PersistentVolumeClaim); ok {
			s.claims[c.Name] = c
		}
	}
	return s
}

// check returns every broken promise of the set, each naming its
// document.
func (s *set) check(im image) []error {
	var errs []error
	add := func(where string, list []error) {
		for _, e := range list {
			errs = append(errs, fmt.Errorf("%s: %v", where, e))
		}
	}
	for _, d := range s.docs {
		var meta *metav1.ObjectMeta
		switch o := d.obj.(type) {
		case *corev1.Namespace:
			meta = &o.ObjectMeta
			if o.Name != namespace {
				add(d.where, []error{fmt.Errorf("namespace %q, want %q", o.Name, namespace)})
			}
		case *corev1.PersistentVolumeClaim:
			meta = &o.ObjectMeta
			if !slices.Contains(o.Spec.AccessModes, corev1.ReadWriteMany) {
				add(d.where, []error{fmt.Errorf("claim %s is not ReadWriteMany: pods on several nodes mount it at once", o.Name)})
			}
			if q, ok := o.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || q.Sign() <= 0 {
				add(d.where, []error{fmt.Errorf("claim %s requests no storage", o.Name)})
			}
		case *corev1.Pod:
			meta = &o.ObjectMeta
			add(d.where, s.checkPod(&o.Spec, im, false))
		case *batchv1.Job:
			meta = &o.ObjectMeta
			add(d.where, checkTemplateLabels(o.Spec.Template.Labels, o.Spec.Selector))
			add(d.where, checkJob(o))
			add(d.where, s.checkPod(&o.Spec.Template.Spec, im, true))
		case *appsv1.DaemonSet:
			meta = &o.ObjectMeta
			add(d.where, checkTemplateLabels(o.Spec.Template.Labels, o.Spec.Selector))
			if o.Spec.Selector == nil {
				add(d.where, []error{errors.New("a DaemonSet needs spec.selector")})
			}
			add(d.where, checkDaemonSet(o))
			add(d.where, s.checkPod(&o.Spec.Template.Spec, im, true))
		}
		add(d.where, checkMeta(meta, d.obj))
	}
	return errs
}

// checkMeta: a valid name in the pinbench namespace, and valid labels,
// the pod template's too.
func checkMeta(m *metav1.ObjectMeta, obj any) []error {
	var errs []error
	for _, msg := range validation.IsDNS1123Subdomain(m.Name) {
		errs = append(errs, fmt.Errorf("name %q: %s", m.Name, msg))
	}
	if _, ns := obj.(*corev1.Namespace); !ns && m.Namespace != namespace {
		errs = append(errs, fmt.Errorf("%s is in namespace %q, want %q", m.Name, m.Namespace, namespace))
	}
	lbls := []map[string]string{m.Labels}
	switch o := obj.(type) {
	case *batchv1.Job:
		lbls = append(lbls, o.Spec.Template.Labels)
	case *appsv1.DaemonSet:
		lbls = append(lbls, o.Spec.Template.Labels)
	}
	for _, set := range lbls {
		for k, v := range set {
			for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
				errs = append(errs, fmt.Errorf("label %s=%s: %s", k, v, msg))
			}
		}
	}
	return errs
}

// checkTemplateLabels: a selector, where there is one, must match the
// pod template's labels (the API server refuses the object otherwise).
func checkTemplateLabels(tmpl map[string]string, sel *metav1.LabelSelector) []error {
	if sel == nil {
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return []error{fmt.Errorf("selector: %v", err)}
	}
	if !s.Matches(labels.Set(tmpl)) {
		return []error{fmt.Errorf("selector %s does not match the template's labels %v", s, tmpl)}
	}
	return nil
}

func checkJob(j *batchv1.Job) []error {
	var errs []error
	spec := &j.Spec.Template.Spec
	if spec.RestartPolicy != corev1.RestartPolicyNever {
		errs = append(errs, fmt.Errorf("restartPolicy %q, want Never: a run that failed is looked at, not repeated", spec.RestartPolicy))
	}
	if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit != 0 {
		errs = append(errs, errors.New("backoffLimit must be 0: a failed run is not retried"))
	}
	if !picksNodeType(spec) {
		errs = append(errs, errors.New("the Job picks no node type: give it a nodeSelector (beyond kubernetes.io/os) or a required node affinity"))
	}
	if runsTune(spec.InitContainers) != nil || runsTune(spec.Containers) == nil {
		errs = append(errs, errors.New("a Job runs pinbench tune in one of its containers"))
	}
	return errs
}

func checkDaemonSet(ds *appsv1.DaemonSet) []error {
	var errs []error
	spec := &ds.Spec.Template.Spec
	if runsTune(spec.InitContainers) == nil {
		errs = append(errs, errors.New("the DaemonSet must run pinbench tune in an init container: its pods restart whatever ends"))
	}
	if runsTune(spec.Containers) != nil {
		errs = append(errs, errors.New("the DaemonSet runs pinbench tune in a container that restarts when it ends: the run would repeat forever"))
	}
	if a := spec.Affinity; a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		errs = append(errs, errors.New("the DaemonSet picks its node types by required node affinity"))
	}
	return errs
}

// picksNodeType reports whether the pod is confined to some nodes by a
// label other than the operating system's.
func picksNodeType(spec *corev1.PodSpec) bool {
	for k := range spec.NodeSelector {
		if k != "kubernetes.io/os" {
			return true
		}
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, e := range term.MatchExpressions {
				if e.Key != "kubernetes.io/os" {
					return true
				}
			}
		}
	}
	return false
}

// runsTune returns the first container whose command runs pinbench tune.
func runsTune(cs []corev1.Container) *corev1.Container {
	for i := range cs {
		if isTune(&cs[i]) {
			return &cs[i]
		}
	}
	return nil
}

func isTune(c *corev1.Container) bool {
	argv := append(slices.Clone(c.Command), c.Args...)
	return len(argv) >= 2 && path.Base(argv[0]) == "pinbench" && argv[1] == "tune"
}

// checkPod checks one pod spec; workload says it must run pinbench tune.
func (s *set) checkPod(spec *corev1.PodSpec, im image, workload bool) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	all := append(slices.Clone(spec.InitContainers), spec.Containers...)
	if len(spec.EphemeralContainers) > 0 {
		bad("ephemeral containers are not expected")
	}

	// Guaranteed QoS, as the kubelet decides it: every container limits
	// CPU and memory, and its requests equal its limits.
	for _, c := range all {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			lim, okL := c.Resources.Limits[r]
			req, okR := c.Resources.Requests[r]
			switch {
			case !okL:
				bad("container %s has no %s limit: the pod is not Guaranteed", c.Name, r)
			case !okR:
				bad("container %s sets no %s request: say it equals the limit", c.Name, r)
			case req.Cmp(lim) != 0:
				bad("container %s requests %s %s but limits it to %s: the pod is not Guaranteed", c.Name, req.String(), r, lim.String())
			case lim.Sign() <= 0:
				bad("container %s: %s limit %s", c.Name, r, lim.String())
			}
		}
	}

	// Security, pod-wide.
	if spec.HostPID || spec.HostIPC || spec.HostNetwork {
		bad("host namespaces (hostPID, hostIPC, hostNetwork) are not needed")
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			bad("volume %s is a hostPath: not needed, and it gives the pod the node's files", v.Name)
		}
	}

	for _, c := range all {
		csc := c.SecurityContext
		if csc == nil {
			bad("container %s has no securityContext", c.Name)
			continue
		}
		if csc.Privileged != nil && *csc.Privileged {
			bad("container %s is privileged", c.Name)
		}
		if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
			bad("container %s must set allowPrivilegeEscalation: false", c.Name)
		}
		if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			bad("container %s must set readOnlyRootFilesystem: true", c.Name)
		}
		nonRoot := psc.RunAsNonRoot
		if csc.RunAsNonRoot != nil {
			nonRoot = csc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			bad("container %s may run as root: set runAsNonRoot: true", c.Name)
		}
		uid := psc.RunAsUser
		if csc.RunAsUser != nil {
			uid = csc.RunAsUser
		}
		if uid != nil && *uid == 0 {
			bad("container %s runs as uid 0", c.Name)
		}
		seccomp := psc.SeccompProfile
		if csc.SeccompProfile != nil {
			seccomp = csc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type == corev1.SeccompProfileTypeUnconfined {
			bad("container %s: seccompProfile must be RuntimeDefault (or Localhost)", c.Name)
		}
		if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
			bad("container %s must drop ALL capabilities", c.Name)
		} else {
			for _, a := range csc.Capabilities.Add {
				if !slices.Contains(documentedCaps, corev1.Capability(strings.TrimPrefix(string(a), "CAP_"))) {
					bad("container %s adds capability %s: only %v are documented as ever needed", c.Name, a, documentedCaps)
				}
			}
		}
		if csc.ProcMount != nil && *csc.ProcMount != corev1.DefaultProcMount {
			bad("container %s: procMount %s", c.Name, *csc.ProcMount)
		}
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			bad("container name %q: %s", c.Name, msg)
		}
		if c.Image == "" || !strings.Contains(path.Base(c.Image), ":") || strings.HasSuffix(c.Image, ":latest") {
			bad("container %s: image %q needs a tag other than latest", c.Name, c.Image)
		}
		errs = append(errs, checkMounts(spec, &c)...)
	}

	tune := runsTune(all)
	if tune == nil {
		if workload {
			bad("no container runs pinbench tune")
		}
		return errs
	}
	errs = append(errs, s.checkTune(spec, tune, im)...)
	return errs
}

// checkMounts: every mount names a volume of the pod, and a subPathExpr
// names only variables the container defines (an undefined one is left
// as the literal "$(NAME)").
func checkMounts(spec *corev1.PodSpec, c *corev1.Container) []error {
	var errs []error
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
			errs = append(errs, fmt.Errorf("container %s mounts volume %s, which the pod does not define", c.Name, m.Name))
		}
		for _, ref := range varRef.FindAllStringSubmatch(m.SubPathExpr, -1) {
			if !env[ref[1]] {
				errs = append(errs, fmt.Errorf("container %s: subPathExpr %q names $(%s), which its env does not define", c.Name, m.SubPathExpr, ref[1]))
			}
		}
	}
	return errs
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// checkTune checks the container that runs pinbench tune: its CPUs,
// where it writes, and that it is the image's binary.
func (s *set) checkTune(spec *corev1.PodSpec, c *corev1.Container, im image) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	argv := append(slices.Clone(c.Command), c.Args...)

	cpu := c.Resources.Limits[corev1.ResourceCPU]
	if cpu.MilliValue()%1000 != 0 {
		bad("container %s: CPU %s is not an integer: the static CPU manager gives whole CPUs of its own only to integer requests", c.Name, cpu.String())
	} else if cpu.Cmp(resource.MustParse("2")) < 0 {
		bad("container %s: CPU %s: tune needs two CPUs at least to measure anything between CPUs", c.Name, cpu.String())
	}

	if argv[0] != im.binary {
		bad("container %s runs %s, but the image's binary is %s", c.Name, argv[0], im.binary)
	}
	// runAsNonRoot needs a numeric user to check: the pod's runAsUser,
	// or else the image's USER.
	uid, _, _ := strings.Cut(im.user, ":")
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		uid = fmt.Sprint(*c.SecurityContext.RunAsUser)
	} else if spec.SecurityContext != nil && spec.SecurityContext.RunAsUser != nil {
		uid = fmt.Sprint(*spec.SecurityContext.RunAsUser)
	}
	if n, err := strconv.Atoi(uid); err != nil || n <= 0 {
		bad("container %s runs as user %q: runAsNonRoot needs a numeric uid other than 0", c.Name, uid)
	} else if want, _, _ := strings.Cut(im.user, ":"); uid != want {
		bad("container %s runs as uid %s, but the image's results folder belongs to its USER %s", c.Name, uid, im.user)
	}
	wd := c.WorkingDir
	if wd == "" {
		wd = im.workdir
	}
	if !path.IsAbs(wd) {
		bad("container %s: working folder %q is not absolute", c.Name, wd)
	}
	out := path.Join(wd, "results")
	for i, a := range argv {
		switch {
		case (a == "--out" || a == "-out") && i+1 < len(argv):
			out = argv[i+1]
		case strings.HasPrefix(a, "--out=") || strings.HasPrefix(a, "-out="):
			out = a[strings.Index(a, "=")+1:]
		}
	}
	if !path.IsAbs(out) {
		out = path.Join(wd, out)
	}
	m := mountAt(c, out)
	switch {
	case m == nil:
		bad("container %s writes into %s, but no volume is mounted there: the run would go to the container's file system and be lost", c.Name, out)
	case m.ReadOnly:
		bad("container %s writes into %s, which is mounted read-only", c.Name, out)
	default:
		v := volume(spec, m.Name)
		switch {
		case v == nil:
		case v.PersistentVolumeClaim == nil:
			bad("container %s writes into %s, volume %s, which is not a PersistentVolumeClaim: the run would go with the pod", c.Name, out, v.Name)
		case v.PersistentVolumeClaim.ReadOnly:
			bad("container %s writes into claim %s, which the pod mounts read-only", c.Name, v.PersistentVolumeClaim.ClaimName)
		case s.claims[v.PersistentVolumeClaim.ClaimName] == nil:
			bad("container %s writes into claim %s, which no manifest here defines", c.Name, v.PersistentVolumeClaim.ClaimName)
		}
		if m.SubPathExpr == "" {
			bad("container %s mounts the results volume without subPathExpr: pods of one machine type would share a folder (pinbench's stale-folder cleanup tells its own process ids only)", c.Name)
		}
	}

	tmp := "/tmp"
	for _, e := range c.Env {
		if e.Name == "TMPDIR" {
			tmp = e.Value
		}
	}
	if m := mountAt(c, tmp); m == nil || m.ReadOnly {
		bad("container %s: its temporary folder %s is not a writable mount (the root file system is read-only)", c.Name, tmp)
	} else if v := volume(spec, m.Name); v != nil && v.EmptyDir == nil {
		bad("container %s: its temporary folder %s is volume %s, not an emptyDir", c.Name, tmp, v.Name)
	}
	return errs
}

// mountAt returns the container's mount at exactly dir, if any.
func mountAt(c *corev1.Container, dir string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if path.Clean(c.VolumeMounts[i].MountPath) == path.Clean(dir) {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volume(spec *corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

// manifests reads every .yaml file of deploy/kubernetes.
func manifests(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(manifestDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .yaml files in %s", manifestDir)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = data
	}
	return out
}

func decodeFiles(t *testing.T, files map[string][]byte) []doc {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	var docs []doc
	for _, n := range names {
		d, err := decodeAll(n, files[n])
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d...)
	}
	return docs
}

// TestManifests decodes every manifest strictly and checks every promise.
func TestManifests(t *testing.T) {
	im := readDockerfile(t)
	docs := decodeFiles(t, manifests(t))
	kinds := map[string]int{}
	for _, d := range docs {
		kinds[fmt.Sprintf("%T", d.obj)]++
		t.Logf("%s: %T", d.where, d.obj)
	}
	for _, k := range []string{"*v1.Namespace", "*v1.PersistentVolumeClaim", "*v1.Job", "*v1.DaemonSet"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among the manifests", strings.TrimPrefix(k, "*v1."))
		}
	}
	if kinds["*v1.Job"] < 2 {
		t.Errorf("%d Jobs: want one per node type, two at least to show how", kinds["*v1.Job"])
	}
	for _, err := range newSet(docs).check(im) {
		t.Error(err)
	}
}

// TestChecksCatch breaks the first Job of jobs.yaml in each way a check
// guards against; each must be caught, naming the fault.
func TestChecksCatch(t *testing.T) {
	im := readDockerfile(t)
	files := manifests(t)
	job, _, _ := strings.Cut(string(files["jobs.yaml"]), "\n---\n")
	pvc := string(files["results-pvc.yaml"])
	limits := "            limits:\n              cpu: \"30\"\n"
	cases := []struct {
		name, old, new, want string
	}{
		{"unknown field", "      restartPolicy: Never\n", "      restartPolicy: Never\n      restartPolicyy: Never\n", `unknown field "spec.template.spec.restartPolicyy"`},
		{"field in another case", "      nodeSelector:", "      NodeSelector:", `unknown field "spec.template.spec.NodeSelector"`},
		{"duplicate key", "      restartPolicy: Never\n", "      restartPolicy: Never\n      restartPolicy: Never\n", `"restartPolicy" already set`},
		{"requests below limits", limits, "            limits:\n              cpu: \"31\"\n", "not Guaranteed"},
		{"no memory limit", "              cpu: \"30\"\n              memory: 1Gi\n          securityContext:", "              cpu: \"30\"\n          securityContext:", "no memory limit"},
		{"fractional CPUs", `cpu: "30"`, `cpu: 2500m`, "not an integer"},
		{"one CPU", `cpu: "30"`, `cpu: "1"`, "two CPUs at least"},
		{"privileged", "privileged: false", "privileged: true", "is privileged"},
		{"escalation", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation: false"},
		{"writable root", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem: true"},
		{"root", "runAsNonRoot: true", "runAsNonRoot: false", "may run as root"},
		{"capabilities kept", `drop: ["ALL"]`, `drop: ["NET_RAW"]`, "must drop ALL"},
		{"capability added", `drop: ["ALL"]`, "drop: [\"ALL\"]\n              add: [\"SYS_ADMIN\"]", "adds capability SYS_ADMIN"},
		{"unconfined seccomp", "type: RuntimeDefault", "type: Unconfined", "seccompProfile"},
		{"host PID", "      restartPolicy: Never\n", "      restartPolicy: Never\n      hostPID: true\n", "host namespaces"},
		{"results elsewhere", "mountPath: /var/lib/pinbench/results", "mountPath: /data", "no volume is mounted there"},
		{"--out elsewhere", `["/pinbench", "tune", "--full"]`, `["/pinbench", "tune", "--full", "--out", "/srv/run"]`, "writes into /srv/run"},
		{"not tune", `["/pinbench", "tune", "--full"]`, `["/pinbench", "bench"]`, "no container runs pinbench tune"},
		{"another binary", `["/pinbench", "tune", "--full"]`, `["/usr/bin/pinbench", "tune", "--full"]`, "the image's binary is /pinbench"},
		{"results on emptyDir", "          persistentVolumeClaim:\n            claimName: pinbench-results\n", "          emptyDir: {}\n", "not a PersistentVolumeClaim"},
		{"undefined claim", "claimName: pinbench-results", "claimName: other", "no manifest here defines"},
		{"shared results folder", "              subPathExpr: $(NODE_NAME)\n", "", "without subPathExpr"},
		{"undefined variable", "subPathExpr: $(NODE_NAME)", "subPathExpr: $(NODE)", "names $(NODE)"},
		{"no node type", "        node.kubernetes.io/instance-type: c7i.8xlarge\n", "", "picks no node type"},
		{"retried", "backoffLimit: 0", "backoffLimit: 3", "backoffLimit must be 0"},
		{"another user", "runAsUser: 65532", "runAsUser: 1000", "belongs to its USER 65532:65532"},
		{"root user", "runAsUser: 65532", "runAsUser: 0", "runs as uid 0"},
		{"latest image", "registry.example.com/pinbench:v1", "registry.example.com/pinbench:latest", "tag other than latest"},
		{"no writable tmp", "            - name: tmp\n              mountPath: /tmp\n", "", "temporary folder /tmp"},
		{"bad label", "pinbench/node-type: c7i.8xlarge\n    spec:", "pinbench/node-type: c7i 8xlarge\n    spec:", "label pinbench/node-type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			catch(t, im, pvc, "jobs.yaml's first Job", job, tc.want, tc.old, tc.new)
		})
	}

	ds := string(files["daemonset.yaml"])
	affinity := ds[strings.Index(ds, "      affinity:\n"):strings.Index(ds, "      automountServiceAccountToken:")]
	dsCases := []struct {
		name, want string
		oldNew     []string
	}{
		// The init and the idle container swap places.
		{"tune restarts", "restarts when it ends", []string{"      initContainers:\n", "      containers:\n", "      containers:\n", "      initContainers:\n"}},
		{"no node affinity", "required node affinity", []string{affinity, ""}},
		{"selector misses", "does not match the template's labels", []string{"      app.kubernetes.io/component: daemonset\n  template:", "      app.kubernetes.io/component: other\n  template:"}},
		{"idle container not Guaranteed", "container idle requests 100m cpu but limits it to 200m", []string{"            limits:\n              cpu: 100m\n", "            limits:\n              cpu: 200m\n"}},
		{"idle container privileged", "container idle is privileged", []string{"memory: 16Mi\n          securityContext:\n            privileged: false", "memory: 16Mi\n          securityContext:\n            privileged: true"}},
	}
	for _, tc := range dsCases {
		t.Run("daemonset/"+tc.name, func(t *testing.T) {
			catch(t, im, pvc, "daemonset.yaml", ds, tc.want, tc.oldNew...)
		})
	}

	// The unbroken documents pass: the cases fail for their fault alone.
	for _, d := range []string{job, ds} {
		docs, err := decodeAll("unbroken.yaml", []byte(pvc+"\n---\n"+d))
		if err != nil {
			t.Fatal(err)
		}
		if errs := newSet(docs).check(im); len(errs) > 0 {
			t.Errorf("an unbroken manifest fails: %v", errs)
		}
	}
}

// catch makes the replacements oldNew (old, new, old, new..., all at
// once) in doc (what names doc) and wants an error containing want from
// decoding or checking it beside the claim pvc.
func catch(t *testing.T, im image, pvc, what, doc, want string, oldNew ...string) {
	t.Helper()
	for i := 0; i < len(oldNew); i += 2 {
		if !strings.Contains(doc, oldNew[i]) {
			t.Fatalf("%s no longer holds %q: update this case", what, oldNew[i])
		}
	}
	broken := strings.NewReplacer(oldNew...).Replace(doc)
	var got []string
	docs, err := decodeAll("broken.yaml", []byte(pvc+"\n---\n"+broken))
	if err != nil {
		got = append(got, err.Error())
	} else {
		for _, e := range newSet(docs).check(im) {
			got = append(got, e.Error())
		}
	}
	if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, want) }) {
		t.Errorf("want an error containing %q, got %q", want, got)
	}
}

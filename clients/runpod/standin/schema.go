package standin

import (
	"context"
	"fmt"
)

// schemaSDL is the part of RunPod's public GraphQL schema the gateway uses.
// Every query the stand-in answers is parsed and validated against it by
// graphql-go, so a misspelt field or a wrong argument type fails here as it
// would at RunPod.
const schemaSDL = `
schema {
	query: Query
	mutation: Mutation
}

type Query {
	myself: User
	pod(input: PodFilter!): Pod
}

type Mutation {
	podStop(input: PodStopInput!): Pod
	podResume(input: PodResumeInput!): Pod
	podBidResume(input: PodBidResumeInput!): Pod
}

type User {
	id: String
	pods: [Pod]
}

input PodFilter {
	podId: String!
}

input PodStopInput {
	podId: String!
	incrementVersion: Boolean
}

input PodResumeInput {
	podId: String!
	gpuCount: Int!
	syncMachine: Boolean
}

input PodBidResumeInput {
	podId: String!
	bidPerGpu: Float!
	gpuCount: Int!
}

enum PodStatus {
	CREATED
	RUNNING
	RESTARTING
	EXITED
	PAUSED
	DEAD
	TERMINATED
}

enum PodType {
	INTERRUPTABLE
	RESERVED
	BID
	BACKGROUND
}

type Pod {
	id: String!
	name: String!
	desiredStatus: PodStatus!
	costPerHr: Float!
	adjustedCostPerHr: Float
	gpuCount: Int!
	podType: PodType
	lastStatusChange: String
	lastStartedAt: String
	uptimeSeconds: Int
	machineId: String!
	machine: PodMachineInfo
	runtime: PodRuntime
}

type PodMachineInfo {
	gpuDisplayName: String
	gpuTypeId: String
	location: String
	dataCenterId: String
	podHostId: String
	costPerHr: Float
}

type PodRuntime {
	uptimeInSeconds: Int
	ports: [PodRuntimePorts]
	gpus: [PodRuntimeGpus]
}

type PodRuntimePorts {
	ip: String
	isIpPublic: Boolean
	privatePort: Int
	publicPort: Int
	type: String
}

type PodRuntimeGpus {
	id: String
	gpuUtilPercent: Int
	memoryUtilPercent: Int
}
`

// rootResolver answers the Query and Mutation fields from the server's pods.
type rootResolver struct{ s *Server }

func (r *rootResolver) Myself(ctx context.Context) (*userResolver, error) {
	if err := r.s.enter(ctx, OpMyself); err != nil {
		return nil, err
	}
	return &userResolver{pods: r.s.Pods()}, nil
}

type podFilter struct{ PodID string }

func (r *rootResolver) Pod(ctx context.Context, args struct{ Input podFilter }) (*podResolver, error) {
	if err := r.s.enter(ctx, OpPod); err != nil {
		return nil, err
	}
	p, ok := r.s.Pod(args.Input.PodID)
	if !ok {
		return nil, nil
	}
	return &podResolver{p}, nil
}

type podStopInput struct {
	PodID            string
	IncrementVersion *bool
}

func (r *rootResolver) PodStop(ctx context.Context, args struct{ Input podStopInput }) (*podResolver, error) {
	if err := r.s.enter(ctx, OpPodStop); err != nil {
		return nil, err
	}
	p, err := r.s.stop(args.Input.PodID)
	if err != nil {
		return nil, err
	}
	return &podResolver{p}, nil
}

type podResumeInput struct {
	PodID       string
	GPUCount    int32
	SyncMachine *bool
}

func (r *rootResolver) PodResume(ctx context.Context, args struct{ Input podResumeInput }) (*podResolver, error) {
	if err := r.s.enter(ctx, OpPodResume); err != nil {
		return nil, err
	}
	if args.Input.GPUCount < 1 {
		return nil, fmt.Errorf("gpuCount must be at least 1")
	}
	p, err := r.s.resume(args.Input.PodID, int(args.Input.GPUCount), 0)
	if err != nil {
		return nil, err
	}
	return &podResolver{p}, nil
}

type podBidResumeInput struct {
	PodID     string
	BidPerGpu float64
	GPUCount  int32
}

func (r *rootResolver) PodBidResume(ctx context.Context, args struct{ Input podBidResumeInput }) (*podResolver, error) {
	if err := r.s.enter(ctx, OpPodBidResume); err != nil {
		return nil, err
	}
	if args.Input.GPUCount < 1 {
		return nil, fmt.Errorf("gpuCount must be at least 1")
	}
	if !(args.Input.BidPerGpu > 0) {
		return nil, fmt.Errorf("bidPerGpu must be positive")
	}
	p, err := r.s.resume(args.Input.PodID, int(args.Input.GPUCount), args.Input.BidPerGpu)
	if err != nil {
		return nil, err
	}
	return &podResolver{p}, nil
}

type userResolver struct{ pods []Pod }

func (u *userResolver) ID() *string {
	id := "user_standin"
	return &id
}

func (u *userResolver) Pods() *[]*podResolver {
	out := make([]*podResolver, len(u.pods))
	for i, p := range u.pods {
		out[i] = &podResolver{p}
	}
	return &out
}

// podResolver answers a Pod's fields from a snapshot taken when it was read.
type podResolver struct{ p Pod }

func (r *podResolver) ID() string            { return r.p.ID }
func (r *podResolver) Name() string          { return r.p.Name }
func (r *podResolver) DesiredStatus() string { return r.p.DesiredStatus }
func (r *podResolver) CostPerHr() float64    { return r.p.CostPerHr }
func (r *podResolver) GPUCount() int32       { return int32(r.p.GPUCount) }
func (r *podResolver) PodType() *string      { return optional(r.p.PodType) }
func (r *podResolver) LastStatusChange() *string {
	return optional(r.p.LastStatusChange)
}
func (r *podResolver) LastStartedAt() *string { return optional(r.p.LastStartedAt) }
func (r *podResolver) MachineID() string      { return r.p.MachineID }

func (r *podResolver) AdjustedCostPerHr() *float64 {
	c := r.p.CostPerHr
	return &c
}

func (r *podResolver) UptimeSeconds() *int32 {
	u := int32(r.p.UptimeSeconds)
	return &u
}

func (r *podResolver) Machine() *machineResolver { return &machineResolver{r.p} }

// Runtime is null unless the pod runs, as at RunPod while a pod starts or
// after it stopped.
func (r *podResolver) Runtime() *runtimeResolver {
	if r.p.DesiredStatus != StatusRunning {
		return nil
	}
	return &runtimeResolver{r.p}
}

type machineResolver struct{ p Pod }

func (m *machineResolver) GPUDisplayName() *string { return optional(m.p.GPUDisplayName) }
func (m *machineResolver) GPUTypeID() *string      { return optional(m.p.GPUTypeID) }
func (m *machineResolver) Location() *string       { return optional(m.p.Location) }
func (m *machineResolver) DataCenterID() *string   { return optional(m.p.DataCenterID) }
func (m *machineResolver) PodHostID() *string {
	return optional(m.p.ID + "-" + m.p.MachineID[:min(8, len(m.p.MachineID))])
}

func (m *machineResolver) CostPerHr() *float64 {
	c := m.p.CostPerHr
	return &c
}

type runtimeResolver struct{ p Pod }

func (r *runtimeResolver) UptimeInSeconds() *int32 {
	u := int32(r.p.UptimeSeconds)
	return &u
}

func (r *runtimeResolver) Ports() *[]*portResolver {
	ports := []*portResolver{{private: 8000, public: 8000, kind: "http", ip: "100.65.0.2", isPublic: false}}
	return &ports
}

func (r *runtimeResolver) Gpus() *[]*gpuResolver {
	gpus := make([]*gpuResolver, r.p.GPUCount)
	for i := range gpus {
		gpus[i] = &gpuResolver{id: fmt.Sprintf("GPU-%s-%d", r.p.ID, i)}
	}
	return &gpus
}

type portResolver struct {
	private, public int32
	kind, ip        string
	isPublic        bool
}

func (p *portResolver) IP() *string         { return optional(p.ip) }
func (p *portResolver) IsIPPublic() *bool   { return &p.isPublic }
func (p *portResolver) PrivatePort() *int32 { return &p.private }
func (p *portResolver) PublicPort() *int32  { return &p.public }
func (p *portResolver) Type() *string       { return optional(p.kind) }

type gpuResolver struct{ id string }

func (g *gpuResolver) ID() *string { return &g.id }

func (g *gpuResolver) GPUUtilPercent() *int32 {
	v := int32(0)
	return &v
}

func (g *gpuResolver) MemoryUtilPercent() *int32 {
	v := int32(0)
	return &v
}

// optional turns "" into GraphQL null.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

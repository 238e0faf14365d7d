package engine

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Graph is a compiled pipeline as data: its sources, stages, the services
// its stages use, the dead-letter sink, and the edges between them. It is
// what WriteGraph draws and what tools (the live page of `run --http`)
// lay out themselves.
type Graph struct {
	ID    string      `json:"id"`
	Nodes []GraphNode `json:"nodes"`
	Edges []GraphEdge `json:"edges"`
}

// GraphNodeKind is the kind of a GraphNode.
type GraphNodeKind string

// Graph node kinds.
const (
	GraphNodeSource     GraphNodeKind = "source"
	GraphNodeStage      GraphNodeKind = "stage"
	GraphNodeService    GraphNodeKind = "service"     // a sink, lookup or plugin service
	GraphNodeDeadLetter GraphNodeKind = "dead_letter" // where every stage's dead letters go
)

// GraphNode is a vertex of a Graph.
type GraphNode struct {
	// ID is unique in the graph: a source's name or a stage's id as in the
	// pipeline file, "service:NAME" for a service, "dead-letters" for the
	// dead-letter sink.
	ID   string        `json:"id"`
	Kind GraphNodeKind `json:"kind"`
	// Name is the source name, stage id or service name (for the
	// dead-letter node: its service, or "stderr").
	Name string `json:"name"`
	// Type is the connector type of a source or service, the type of a
	// stage.
	Type string `json:"type"`
	// Service is the service a stage uses; Replicas its replicas (> 1).
	Service  string `json:"service,omitempty"`
	Replicas int    `json:"replicas,omitempty"`
	// Role is what a service provides: sink, lookup or plugin.
	Role string `json:"role,omitempty"`
}

// GraphEdgeKind is the kind of a GraphEdge.
type GraphEdgeKind string

// Graph edge kinds.
const (
	GraphEdgeRoute      GraphEdgeKind = "route"       // an edge or fan-out target of the pipeline
	GraphEdgeLate       GraphEdgeKind = "late"        // the side output for late records
	GraphEdgeService    GraphEdgeKind = "service"     // a stage uses a service
	GraphEdgeDeadLetter GraphEdgeKind = "dead_letter" // a node's dead letters
)

// GraphEdge is an edge of a Graph, between node IDs.
type GraphEdge struct {
	From      string        `json:"from"`
	To        string        `json:"to"`
	Kind      GraphEdgeKind `json:"kind"`
	Condition string        `json:"condition,omitempty"` // route edges only
}

// DeadLetterNodeID is the ID of the dead-letter node of every Graph.
const DeadLetterNodeID = "dead-letters"

// ServiceNodeID is the ID of a service's node in a Graph.
func ServiceNodeID(name string) string { return "service:" + name }

// Graph returns the pipeline as nodes and edges: sources and stages in
// plan order (route and late edges, in the order of Summary.Edges), the
// services stages use (sorted by name), and the dead-letter sink, which
// every source and stage may send to.
func (pl *Plan) Graph() Graph {
	g := Graph{ID: pl.ID()}
	used := map[string]bool{}
	for _, n := range pl.nodes {
		gn := GraphNode{ID: n.id, Name: n.id}
		if n.kind == nodeSource {
			gn.Kind, gn.Type = GraphNodeSource, n.source.Type
		} else {
			gn.Kind, gn.Type, gn.Service = GraphNodeStage, string(n.stage.Type), stageService(n.stage)
			if n.stage.Replicas > 1 {
				gn.Replicas = n.stage.Replicas
			}
			if _, ok := pl.services[gn.Service]; ok {
				used[gn.Service] = true
			}
		}
		g.Nodes = append(g.Nodes, gn)
	}
	for _, n := range pl.nodes {
		for _, r := range n.routes {
			e := GraphEdge{From: n.id, To: r.to.id, Kind: GraphEdgeRoute}
			if r.late {
				e.Kind = GraphEdgeLate
			} else if r.cond != nil {
				e.Condition = r.cond.String()
			}
			g.Edges = append(g.Edges, e)
		}
	}
	names := make([]string, 0, len(used))
	for name := range used {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		sv := pl.services[name]
		g.Nodes = append(g.Nodes, GraphNode{ID: ServiceNodeID(name), Kind: GraphNodeService, Name: name, Type: sv.svc.Type, Role: sv.role()})
	}
	for _, n := range pl.nodes {
		if n.kind == nodeStage && used[stageService(n.stage)] {
			g.Edges = append(g.Edges, GraphEdge{From: n.id, To: ServiceNodeID(stageService(n.stage)), Kind: GraphEdgeService})
		}
	}
	dl := GraphNode{ID: DeadLetterNodeID, Kind: GraphNodeDeadLetter, Name: "stderr", Type: "stderr"}
	if name := pl.settings.DeadLetter; name != "" {
		dl.Name = name
		if sv, ok := pl.services[name]; ok {
			dl.Type = sv.svc.Type
		}
	}
	g.Nodes = append(g.Nodes, dl)
	for _, n := range pl.nodes {
		g.Edges = append(g.Edges, GraphEdge{From: n.id, To: DeadLetterNodeID, Kind: GraphEdgeDeadLetter})
	}
	return g
}

// stageService is the service a stage uses: its service_name, or a
// lookup's lookup_service.
func stageService(s *Stage) string {
	if s.ServiceName == "" && s.Lookup != nil {
		return s.Lookup.LookupService
	}
	return s.ServiceName
}

// role names what a service provides.
func (s *service) role() string {
	switch {
	case s.caps&capSink != 0:
		return "sink"
	case s.caps&capLookup != 0:
		return "lookup"
	default:
		return "plugin"
	}
}

// GraphFormat is an output format of WriteGraph.
type GraphFormat string

// Graph formats.
const (
	GraphDOT     GraphFormat = "dot"
	GraphMermaid GraphFormat = "mermaid"
)

// WriteGraph draws the compiled pipeline (see Graph): sources, stages
// labelled with their type and service, the services, the dead-letter
// sink, and the edges, labelled with their conditions; late-record routes
// and dead-letter edges are dashed, service uses dotted.
func (pl *Plan) WriteGraph(w io.Writer, f GraphFormat) error {
	g := pl.Graph()
	var b strings.Builder
	switch f {
	case GraphDOT:
		writeDOT(&b, g)
	case GraphMermaid:
		writeMermaid(&b, g)
	default:
		return fmt.Errorf("unknown graph format %q (want dot or mermaid)", f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeDOT(b *strings.Builder, g Graph) {
	fmt.Fprintf(b, "digraph %q {\n  rankdir=LR;\n", g.ID)
	roles := map[string]string{}
	for _, n := range g.Nodes {
		roles[n.ID] = n.Role
		attrs := "shape=box"
		switch {
		case n.Kind == GraphNodeSource:
			attrs = "shape=ellipse"
		case n.Kind == GraphNodeDeadLetter:
			attrs = "shape=cylinder,color=firebrick,fontcolor=firebrick"
		case n.Role == "plugin":
			attrs = "shape=component"
		case n.Kind == GraphNodeService:
			attrs = "shape=cylinder"
		}
		fmt.Fprintf(b, "  %q [%s,label=%q];\n", n.ID, attrs, graphLabel(n))
	}
	for _, e := range g.Edges {
		switch {
		case e.Kind == GraphEdgeLate:
			fmt.Fprintf(b, "  %q -> %q [label=\"late records\",style=dashed];\n", e.From, e.To)
		case e.Kind == GraphEdgeDeadLetter:
			fmt.Fprintf(b, "  %q -> %q [style=dashed,color=firebrick,arrowsize=0.6];\n", e.From, e.To)
		case e.Kind == GraphEdgeService && roles[e.To] == "sink":
			fmt.Fprintf(b, "  %q -> %q [style=dotted];\n", e.From, e.To)
		case e.Kind == GraphEdgeService:
			fmt.Fprintf(b, "  %q -> %q [style=dotted,dir=none];\n", e.From, e.To)
		case e.Condition != "":
			fmt.Fprintf(b, "  %q -> %q [label=%q];\n", e.From, e.To, e.Condition)
		default:
			fmt.Fprintf(b, "  %q -> %q;\n", e.From, e.To)
		}
	}
	b.WriteString("}\n")
}

func writeMermaid(b *strings.Builder, g Graph) {
	b.WriteString("flowchart LR\n")
	ids := map[string]string{}
	roles := map[string]string{}
	for i, n := range g.Nodes {
		id := fmt.Sprintf("n%d", i)
		ids[n.ID], roles[n.ID] = id, n.Role
		label := mermaidText(graphLabel(n))
		switch {
		case n.Kind == GraphNodeSource:
			fmt.Fprintf(b, "  %s([\"%s\"])\n", id, label)
		case n.Role == "plugin":
			fmt.Fprintf(b, "  %s[[\"%s\"]]\n", id, label)
		case n.Kind == GraphNodeService || n.Kind == GraphNodeDeadLetter:
			fmt.Fprintf(b, "  %s[(\"%s\")]\n", id, label)
		default:
			fmt.Fprintf(b, "  %s[\"%s\"]\n", id, label)
		}
	}
	for _, e := range g.Edges {
		from, to := ids[e.From], ids[e.To]
		switch {
		case e.Kind == GraphEdgeLate:
			fmt.Fprintf(b, "  %s -.->|late records| %s\n", from, to)
		case e.Kind == GraphEdgeDeadLetter:
			fmt.Fprintf(b, "  %s -.-x %s\n", from, to)
		case e.Kind == GraphEdgeService && roles[e.To] == "sink":
			fmt.Fprintf(b, "  %s -.-> %s\n", from, to)
		case e.Kind == GraphEdgeService:
			fmt.Fprintf(b, "  %s -.- %s\n", from, to)
		case e.Condition != "":
			fmt.Fprintf(b, "  %s -->|\"%s\"| %s\n", from, mermaidText(e.Condition), to)
		default:
			fmt.Fprintf(b, "  %s --> %s\n", from, to)
		}
	}
	if id, ok := ids[DeadLetterNodeID]; ok {
		fmt.Fprintf(b, "  style %s stroke:#b22222,color:#b22222\n", id)
	}
}

// graphLabel is a node's two-line label: its name and what it is.
func graphLabel(n GraphNode) string {
	switch n.Kind {
	case GraphNodeSource:
		return fmt.Sprintf("%s\n(%s source)", n.Name, n.Type)
	case GraphNodeService:
		return fmt.Sprintf("%s\n(%s %s)", n.Name, n.Type, n.Role)
	case GraphNodeDeadLetter:
		if n.Name == n.Type {
			return fmt.Sprintf("dead letters\n(%s)", n.Name)
		}
		return fmt.Sprintf("dead letters\n(%s: %s)", n.Type, n.Name)
	}
	l := fmt.Sprintf("%s\n(%s", n.Name, n.Type)
	if n.Service != "" {
		l += ": " + n.Service
	}
	if n.Replicas > 1 {
		l += fmt.Sprintf(" x%d", n.Replicas)
	}
	return l + ")"
}

// mermaidText escapes text for a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "\n", "<br/>").Replace(s)
}

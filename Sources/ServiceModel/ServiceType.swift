// ServiceType: `spec.type` of a Service.

/// A Service's `spec.type`. For DNS, NodePort and LoadBalancer Services answer like ClusterIP ones.
public enum ServiceType: String, Hashable, Sendable {
    case clusterIP = "ClusterIP"
    case nodePort = "NodePort"
    case loadBalancer = "LoadBalancer"
    case externalName = "ExternalName"
}

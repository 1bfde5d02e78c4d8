"""gRPC servicers: proto in, proto out; the work is done by the domain and storage layers."""

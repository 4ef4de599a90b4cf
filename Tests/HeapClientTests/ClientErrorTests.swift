import Glibc
import HeapClient
import HeapProtocol
import Testing

struct ClientErrorTests {
    @Test func descriptionsAreReadable() {
        #expect(
            ClientError.connect(path: "/run/heapd.sock", errno: ECONNREFUSED).description
                == "could not connect to heapd at /run/heapd.sock: Connection refused (is heapd running?)"
        )
        #expect(
            ClientError.connect(path: "/run/heapd.sock", errno: EACCES).description
                == "could not connect to heapd at /run/heapd.sock: Permission denied (check the socket's permissions)"
        )
        #expect(ClientError.io(errno: EBADF).description == "I/O error talking to heapd: Bad file descriptor")
        #expect(ClientError.closedByServer.description == "heapd closed the connection")
        #expect(ClientError.timeout.description == "timed out waiting for heapd")
        #expect(
            ClientError.protocolError(.invalidInteger).description == "invalid reply from heapd: invalid integer reply"
        )
        #expect(ClientError.notConnected.description == "not connected to heapd (the connection was closed)")
    }
}

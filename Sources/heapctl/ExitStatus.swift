/// heapctl's exit statuses, fixed so that shell scripts can tell a failed command from an unreachable daemon.
///
/// The split follows `redis-cli`: 1 when heapd answered with an error reply (heapd is fine, the command was
/// not), 2 when heapd could not be reached or the connection broke (retrying later may help).
/// Command-line mistakes exit 64 (`EX_USAGE`), which ArgumentParser uses for validation errors.
enum ExitStatus: Int32 {
    /// Every command succeeded.
    case success = 0
    /// At least one reply was an error reply.
    case errorReply = 1
    /// heapd could not be reached, or the connection failed midway.
    case connectionFailed = 2
    /// A command-line mistake (`EX_USAGE`), found after parsing.
    case usage = 64
    /// A script file could not be read (`EX_NOINPUT` from sysexits.h).
    case noInput = 66
    /// A service heapctl offers could not start: `metrics --listen` could not bind its address
    /// (`EX_UNAVAILABLE`; the address itself was well formed, so it is no usage error).
    case unavailable = 69
}

// Dropping the connection a request came on without an answer, for the fault rules
// "reset_connection" (before routing) and "after" (after routing, before the reply is written).
#pragma once

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace converge::emulator {

// Finds the accepted socket serving `req` (matched by both endpoints' ports, via /proc/self/fd)
// and makes the kernel drop the connection: SO_LINGER 0 so closing sends a RST, and shutdown so
// the client gets nothing. Returns false if the socket was not found.
bool ResetConnection(const httplib::Request& req);

// Drops the connection of `req`; when its socket cannot be found, makes `res` fail mid-way
// instead (a declared length that is never met), so the client still gets no complete answer.
void DropConnection(const httplib::Request& req, httplib::Response& res);

}  // namespace converge::emulator

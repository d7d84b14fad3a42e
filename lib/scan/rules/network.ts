/**
 * Category `network`: raw network access (socket, socketserver, asyncio streams and loop socket APIs,
 * servers, non-HTTP protocol clients). HTTP clients (urllib.request, http.client, requests, httpx, aiohttp)
 * are allowed.
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

export const INSTEAD_NETWORK =
  "plugins cannot open raw connections: use an HTTP client (urllib.request, http.client, requests, httpx) and declare resource_type API";

/**
 * Standard library APIs that open raw sockets inside (reviewed against CPython 3.11's sources; the test
 * triggers each under an audit hook that stops at the connect, bind or send). HTTP clients (http.client,
 * urllib.request, logging.handlers.HTTPHandler) are allowed. Re-exports of the socket module's own functions
 * (`ssl.create_connection` is `socket.create_connection`) come from lib/scan/semantic/stdlib_data.ts.
 */
export const STDLIB_SOCKET_APIS: readonly string[] = [
  "logging.handlers.SocketHandler", // emit() connects a TCP socket
  "logging.handlers.DatagramHandler", // emit() sends UDP datagrams
  "logging.handlers.SysLogHandler", // a UDP or TCP socket to the syslog address
  "logging.config.listen", // a thread with a TCP server that accepts new logging configurations
  "ssl.get_server_certificate", // connects to the given address
];

export const NETWORK_RULES: RuleEntry[] = [
  rule(
    "network-socket",
    "network",
    "raw sockets",
    "`{name}` opens raw network connections",
    INSTEAD_NETWORK,
    {
      paths: [
        "socket",
        "_socket",
        "socketserver",
        "SocketServer",
        "ssl.wrap_socket",
        "ssl.SSLSocket",
      ],
      attributes: ["wrap_socket"],
    },
  ),
  rule(
    "network-asyncio",
    "network",
    "asyncio streams and sockets",
    "`{name}` opens raw network connections from asyncio",
    INSTEAD_NETWORK,
    {
      paths: [
        "asyncio.open_connection",
        "asyncio.start_server",
        "asyncio.open_unix_connection",
        "asyncio.start_unix_server",
        "asyncio.streams",
      ],
      attributes: [
        "open_connection",
        "open_unix_connection",
        "start_server",
        "start_unix_server",
        "create_connection",
        "create_server",
        "create_unix_connection",
        "create_unix_server",
        "create_datagram_endpoint",
        "sock_connect",
        "sock_accept",
        "connect_accepted_socket",
      ],
    },
  ),
  rule(
    "network-server",
    "network",
    "network servers",
    "`{name}` listens for network connections",
    INSTEAD_NETWORK,
    {
      paths: [
        "http.server",
        "xmlrpc.server",
        "SimpleXMLRPCServer",
        "SimpleHTTPServer",
        "BaseHTTPServer",
        "wsgiref.simple_server",
        "multiprocessing.connection",
        "multiprocessing.managers",
        "asyncore",
        "asynchat",
        "smtpd",
      ],
    },
  ),
  rule(
    "network-stdlib-socket",
    "network",
    "standard library APIs that open raw sockets",
    "`{name}` opens a raw socket inside the standard library",
    INSTEAD_NETWORK,
    { paths: STDLIB_SOCKET_APIS },
  ),
  rule(
    "network-protocol",
    "network",
    "non-HTTP protocol clients",
    "`{name}` opens a raw protocol connection (FTP, SMTP, telnet, …)",
    INSTEAD_NETWORK,
    { paths: ["telnetlib", "ftplib", "smtplib", "poplib", "imaplib", "nntplib"] },
  ),
  rule(
    "network-library",
    "network",
    "raw network libraries",
    "`{name}` is a library for raw network access",
    INSTEAD_NETWORK,
    {
      paths: [
        "paramiko",
        "zmq",
        "twisted.internet",
        "gevent.socket",
        "gevent.server",
        "eventlet.green.socket",
        "scapy",
        "pwn",
        "pwnlib",
      ],
    },
  ),
];

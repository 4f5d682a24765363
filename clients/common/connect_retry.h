// ConnectWithRetry: connects a Paho client to the chat server, trying again while the server closes the
// connection without a CONNACK. It does that while it checks a password off its event loop (a first
// login under load, or from where logins have failed); the next attempt finds the answer.
#pragma once

#include <mqtt/async_client.h>

#include <chrono>

namespace chat::clients {

// Connects with `options`; attempts closed without a CONNACK are repeated (100 ms apart at first, then
// up to 1 s) until `give_up_after`. Throws the last attempt's mqtt::exception on failure; a CONNACK
// refusal (wrong credentials, bad client id) is thrown at once.
void ConnectWithRetry(mqtt::async_client& client, const mqtt::connect_options& options,
                      std::chrono::milliseconds give_up_after = std::chrono::seconds(30));

}  // namespace chat::clients

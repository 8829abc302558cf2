// The sandbox's /_admin routes that do not depend on which backends are mounted: fault rules,
// request counters, and the shared knobs of one emulator (sandbox.h lists them all).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "reconcilers/common/emulator/emulator.h"
#include "reconcilers/common/emulator/faults.h"
#include "reconcilers/common/emulator/request_log.h"

namespace converge::sandbox {

void SetJson(httplib::Response& res, int status, const nlohmann::json& body);

// POST/GET/DELETE /_admin/faults.
void MountFaultRoutes(httplib::Server& http, emulator::FaultRules& faults);
// GET/DELETE /_admin/requests.
void MountRequestRoutes(httplib::Server& http, emulator::RequestLog& requests);
// GET/POST `admin_prefix`/failing-images and /transition-ms, and the emulator's AdminAliases().
void MountKnobRoutes(httplib::Server& http, const std::string& admin_prefix,
                     emulator::Emulator& emulator);

}  // namespace converge::sandbox

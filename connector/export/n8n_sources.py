"""The text of the n8n package's files: TypeScript sources, package.json, tsconfig.json, icon, build script.

Descriptions are generated as JSON (valid TypeScript object literals), so tsc checks every generated
property against ``n8n-workflow``'s types. Versions below install on Node 20 without engine warnings
(n8n-workflow 2.10.2 is the last release before its tree pulled in ``isolated-vm``, which needs Node 24).
"""

from __future__ import annotations

import json
from typing import Any

N8N_WORKFLOW_VERSION = "2.10.2"
TYPESCRIPT_VERSION = "5.9.3"
TYPES_NODE_VERSION = "20.19.43"
PACKAGE_NAME = "n8n-nodes-memberpass-connector"
CREDENTIAL_FILE = "credentials/MemberPassConnectorApi.credentials.ts"
ACTION_FILE = "nodes/MemberPassConnector/MemberPassConnector.node.ts"
TRIGGER_FILE = "nodes/MemberPassConnectorTrigger/MemberPassConnectorTrigger.node.ts"


def ts_literal(value: Any) -> str:
    return json.dumps(value, indent="\t", ensure_ascii=False)


def dist(path: str) -> str:
    return "dist/" + path.removesuffix(".ts") + ".js"


def package_json(version: str) -> str:
    body = {
        "name": PACKAGE_NAME,
        "version": version,
        "description": "n8n nodes for MemberPass through the MemberPass Connector: actions, searches and "
        "signed REST-hook triggers",
        "keywords": ["n8n-community-node-package", "memberpass"],
        "license": "UNLICENSED",
        "files": ["dist"],
        "scripts": {"build": "tsc -p tsconfig.json && node scripts/copy-icons.js", "dev": "tsc --watch"},
        "n8n": {
            "n8nNodesApiVersion": 1,
            "credentials": [dist(CREDENTIAL_FILE)],
            "nodes": [dist(ACTION_FILE), dist(TRIGGER_FILE)],
        },
        "devDependencies": {
            "@types/node": TYPES_NODE_VERSION,
            "n8n-workflow": N8N_WORKFLOW_VERSION,
            "typescript": TYPESCRIPT_VERSION,
        },
        "peerDependencies": {"n8n-workflow": "*"},
    }
    return json.dumps(body, indent=2) + "\n"


def tsconfig_json() -> str:
    body = {
        "compilerOptions": {
            "strict": True,
            "module": "commonjs",
            "moduleResolution": "node",
            "target": "es2019",
            "lib": ["es2019", "es2020", "es2022.error"],
            "types": ["node"],
            "removeComments": True,
            "useUnknownInCatchVariables": False,
            "forceConsistentCasingInFileNames": True,
            "noImplicitAny": True,
            "noImplicitReturns": True,
            "noUnusedLocals": True,
            "strictNullChecks": True,
            "esModuleInterop": True,
            "declaration": True,
            "sourceMap": True,
            "skipLibCheck": True,
            "outDir": "./dist/",
        },
        "include": ["credentials/**/*.ts", "nodes/**/*.ts"],
    }
    return json.dumps(body, indent=2) + "\n"


COPY_ICONS_JS = """\
// Copies the icons next to the compiled nodes (n8n resolves `file:` icons relative to the .js file).
const fs = require('fs');
const path = require('path');

for (const dir of ['nodes', 'credentials']) {
\tif (!fs.existsSync(dir)) continue;
\tfor (const file of fs.readdirSync(dir, { recursive: true })) {
\t\tif (!String(file).endsWith('.svg')) continue;
\t\tconst target = path.join('dist', dir, String(file));
\t\tfs.mkdirSync(path.dirname(target), { recursive: true });
\t\tfs.copyFileSync(path.join(dir, String(file)), target);
\t}
}
"""

ICON_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
  <rect x="4" y="10" width="56" height="44" rx="8" fill="#4f46e5"/>
  <circle cx="22" cy="30" r="8" fill="#ffffff"/>
  <path d="M10 48c2-8 7-11 12-11s10 3 12 11z" fill="#ffffff"/>
  <rect x="38" y="24" width="16" height="4" rx="2" fill="#c7d2fe"/>
  <rect x="38" y="32" width="12" height="4" rx="2" fill="#c7d2fe"/>
  <rect x="38" y="40" width="14" height="4" rx="2" fill="#c7d2fe"/>
</svg>
"""

CREDENTIAL_TS = """\
import type {
\tIAuthenticateGeneric,
\tICredentialTestRequest,
\tICredentialType,
\tINodeProperties,
} from 'n8n-workflow';

/** A MemberPass Connector connection key (`mpc_…`), sent as `Authorization: Bearer`. */
export class MemberPassConnectorApi implements ICredentialType {
\tname = 'memberPassConnectorApi';

\tdisplayName = 'MemberPass Connector API';

\tdocumentationUrl = 'https://docs.memberpass.net';

\tproperties: INodeProperties[] = [
\t\t{
\t\t\tdisplayName: 'Connector URL',
\t\t\tname: 'baseUrl',
\t\t\ttype: 'string',
\t\t\tdefault: 'http://localhost:8080',
\t\t\tplaceholder: 'https://connector.example.com',
\t\t\tdescription: 'Base URL of your MemberPass Connector',
\t\t\trequired: true,
\t\t},
\t\t{
\t\t\tdisplayName: 'Connection Key',
\t\t\tname: 'connectionKey',
\t\t\ttype: 'string',
\t\t\ttypeOptions: { password: true },
\t\t\tdefault: '',
\t\t\tplaceholder: 'mpc_…',
\t\t\tdescription: 'The key shown once when you connected on the connector\\'s /connect page',
\t\t\trequired: true,
\t\t},
\t];

\tauthenticate: IAuthenticateGeneric = {
\t\ttype: 'generic',
\t\tproperties: {
\t\t\theaders: {
\t\t\t\tAuthorization: '=Bearer {{$credentials.connectionKey}}',
\t\t\t},
\t\t},
\t};

\ttest: ICredentialTestRequest = {
\t\trequest: {
\t\t\tbaseURL: '={{$credentials.baseUrl.replace(/\\\\/+$/, "")}}',
\t\t\turl: '/api/me',
\t\t\tmethod: 'GET',
\t\t},
\t};
}
"""

ACTION_TS = """\
import type { INodeType, INodeTypeDescription } from 'n8n-workflow';

/** Generated from the connector's manifests by `memberpass-connector export n8n`: do not edit. */
export class MemberPassConnector implements INodeType {
\tdescription: INodeTypeDescription = __DESCRIPTION__;
}
"""


def action_ts(description: dict[str, Any]) -> str:
    return ACTION_TS.replace("__DESCRIPTION__", ts_literal(description))


def trigger_ts(description: dict[str, Any], inputs: dict[str, Any], choices: dict[str, Any]) -> str:
    from connector.export.n8n_trigger_source import TRIGGER_TS

    return (
        TRIGGER_TS.replace("__DESCRIPTION__", ts_literal(description))
        .replace("__TRIGGER_INPUTS__", ts_literal(inputs))
        .replace("__CHOICE_INPUTS__", ts_literal(choices))
    )

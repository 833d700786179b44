import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{b as w,e as h}from"./chunk-ZHEOYX7E.js";import{c as p,i as f,k as g,m as x,o as l,p as b}from"./chunk-J25AJB76.js";import{e as c,f as d}from"./chunk-EWNVOTDI.js";import"./chunk-7QWMKDIK.js";import{readFile as C}from"node:fs/promises";var m=`usage:
  drimbox hl7 send FILE --to HOST:PORT [--timeout MS]   send an HL7 message over MLLP, print the ACK (exit 1 unless AA)
  drimbox hl7 parse FILE                                 print what the box reads from an HL7 message or a CDA, as JSON

FILE: an HL7 v2 message (.hl7/.er7, segments ended by CR, CRLF or LF) or, for parse, a CDA document (.xml).`,k={summary:"send an HL7 message over MLLP, or show what the box reads from a message or a CDA",async run(r){let[e,...n]=r;if(e==="send")return H(n);if(e==="parse")return S(n);if(e===void 0||e==="--help"||e==="-h"||e==="help")return process.stdout.write(m+`
`),e===void 0?2:0;throw new c(`unknown hl7 subcommand "${e}"
${m}`)}};async function H(r){let{values:e,positionals:n}=d(r,{to:{type:"string"},timeout:{type:"string"}});if(e.help)return $();let o=y(n);if(typeof e.to!="string")throw new c(`--to HOST:PORT is required
${m}`);let s=/^(.+):(\d{1,5})$/.exec(e.to);if(!s||Number(s[2])>65535)throw new c(`--to must be HOST:PORT, not "${e.to}"`);let t=e.timeout===void 0?3e4:Number(e.timeout);if(!Number.isInteger(t)||t<=0)throw new c("--timeout must be a positive number of milliseconds");let i=await L(o);if(l(i))throw new c(`${o} is an XML document: hl7 send takes an HL7 v2 message`);let A=s[1].replace(/^\[(.*)\]$/,"$1"),u;try{u=await h(A,Number(s[2]),F(i),{timeoutMs:t})}catch(a){return process.stderr.write(`drimbox: ${a.message}
`),1}process.stdout.write(O(u)+`
`);try{let a=w(u);return a.code!=="AA"&&a.code!=="CA"?(process.stderr.write(`drimbox: the peer answered ${a.code||"(no code)"}${a.text?`: ${a.text}`:""}
`),1):0}catch(a){return process.stderr.write(`drimbox: the answer is not a readable acknowledgment: ${a.message}
`),1}}async function S(r){let{values:e,positionals:n}=d(r,{});if(e.help)return $();let o=y(n),s=await L(o);try{if(l(s))return process.stdout.write(JSON.stringify(x(s),null,2)+`
`),0;let t=b(f(s));process.stdout.write(JSON.stringify(t.report,null,2)+`
`);for(let i of t.errors)process.stderr.write(`drimbox: would answer ${i.code}: ${i.message}
`);return t.errors.length?1:0}catch(t){if(t instanceof g||t instanceof p)return process.stderr.write(`drimbox: would answer ${t.ackCode}: ${t.message}
`),1;throw t}}function $(){return process.stdout.write(m+`
`),0}function y(r){if(r.length!==1)throw new c(`expected one FILE, got ${r.length}
${m}`);return r[0]}async function L(r){try{return await C(r)}catch(e){throw new c(`cannot read ${r}: ${e.code??e.message}`)}}function F(r){let e=Buffer.alloc(r.length),n=0;for(let t=0;t<r.length;t++){let i=r[t];i===13&&r[t+1]===10||(e[n++]=i===10?13:i)}let o=n;for(;o>0&&(e[o-1]===13||e[o-1]===32);)o--;return Buffer.concat([e.subarray(0,o),Buffer.of(13)])}function O(r){let e;try{e=f(r).charset.encoding==="utf-8"?r.toString("utf8"):r.toString("latin1")}catch{e=r.toString("latin1")}return e.replace(/\r\n?/g,`
`).trimEnd()}export{k as command};

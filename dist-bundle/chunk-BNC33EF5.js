import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
var s=class extends Error{kind;details;constructor(t,e,i={}){super(e),this.kind=t,this.details=i,this.name="PacsError"}};export{s as a};

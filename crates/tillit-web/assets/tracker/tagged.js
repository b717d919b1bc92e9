function K(e){for(var t=e.target,j=0;t&&j<4;t=t.parentElement,j++){var c=(t.getAttribute&&t.getAttribute("class")||"").split(/\s+/),nm,pr={};
c.forEach(function(k){var m=/^(?:plausible|tillit)-event-(.+?)(?:=|--)(.+)$/.exec(k);if(m){var v=m[2].replace(/\+/g," ");if(m[1]=="name")nm=v;else pr[m[1]]=v}});
if(nm){if(t.href)pr.url=t.href;T(nm,{props:pr});return}}}
d.addEventListener("click",K);d.addEventListener("auxclick",function(e){e.button==1&&K(e)});
